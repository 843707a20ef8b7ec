"""Opening a session: the embedded sandbox as `s2b-tui` starts it with no key."""

from __future__ import annotations

from s2b_tui.config import Settings
from s2b_tui.session import EmbeddedSandboxBackend, EnvironmentKind, backend_for, open_session


async def test_no_key_starts_the_embedded_sandbox_and_keeps_its_data(tmp_path):
    settings = Settings.resolve(environ={}, data_dir=tmp_path)
    backend = backend_for(settings)
    assert isinstance(backend, EmbeddedSandboxBackend)
    assert backend.data_dir == tmp_path / "sandbox"

    session = await open_session(backend)
    try:
        assert session.environment.kind is EnvironmentKind.SANDBOX
        assert session.environment.embedded and session.sandbox is not None
        assert session.environment.host.startswith("127.0.0.1:")
        company = await session.client.create_company("Survives A Restart")
    finally:
        await session.client.aclose()
        await backend.close()

    second = backend_for(settings)
    again = await open_session(second)
    try:
        assert (await again.client.get_company(company.id)).name == "Survives A Restart"
    finally:
        await again.client.aclose()
        await second.close()


def test_a_key_means_that_api_and_no_sandbox(tmp_path):
    key = "sk_live_" + "k" * 24
    settings = Settings.resolve(
        environ={"S2B_API_KEY": key, "S2B_BASE_URL": "https://api.example/v1"}, data_dir=tmp_path
    )
    preview = backend_for(settings).preview()
    assert preview is not None
    assert (preview.kind, preview.host, preview.masked_key) == (
        EnvironmentKind.LIVE,
        "api.example",
        "sk_live_…kkkk",
    )
    sandbox = Settings.resolve(environ={"S2B_API_KEY": key}, use_sandbox=True, data_dir=tmp_path)
    assert sandbox.embedded_sandbox
