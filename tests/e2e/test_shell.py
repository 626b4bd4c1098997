"""``crmbot shell`` driven through stdin as a subprocess, as a user would script it."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import run


def test_scripted_shell_session_on_demo_data(tmp_path: Path) -> None:
    script = "ayuda\nbuscar ana\nvincular ana\n2\ncontacto\ncomentar Llamar el lunes @all\nfoo\n"
    result = run("shell", "--demo", cwd=tmp_path, stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "(tu rol: `admin`)" in out
    assert "Hay varios contactos con «ana»" in out
    assert "✅ Sala vinculada a *Ana García López*." in out
    assert "Registros (escribe la palabra para verlos):" in out
    assert "Comentario guardado en *Ana García López*." in out
    assert "No conozco «foo»." in out
    # The schema and demo data were created in the working directory's embedded database.
    assert (tmp_path / "crmbot.db").exists()


def test_shell_as_a_mapped_user_has_their_role(tmp_path: Path) -> None:
    assert run("demo-data", cwd=tmp_path).returncode == 0
    assert run("users", "add", "luis", "--role", "lectura", cwd=tmp_path).returncode == 0
    result = run("shell", "--user", "luis", cwd=tmp_path, stdin="vincular ana\nayuda\n")
    assert result.returncode == 0, result.stderr
    assert "`ventas`" in result.stdout  # the refusal names the role that may link rooms
    assert "(tu rol: `lectura`)" in result.stdout


def test_unknown_user_gets_the_default_role(tmp_path: Path) -> None:
    assert run("demo-data", cwd=tmp_path).returncode == 0
    result = run("shell", "--user", "nadie", cwd=tmp_path, stdin="buscar ana\n")
    assert result.returncode == 0, result.stderr
    assert "Ana García López" not in result.stdout
    assert "Aún no tienes acceso al CRM" in result.stdout


def test_english_locale(tmp_path: Path) -> None:
    result = run("shell", "--demo", cwd=tmp_path, stdin="help\nsearch ana\n", CRMBOT_LOCALE="en")
    assert result.returncode == 0, result.stderr
    assert "Contacts" in result.stdout
    assert "Ana García López" in result.stdout
