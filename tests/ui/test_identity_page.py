"""The Identity perspective: create a key in the dialog, unlock it, report corrupt files."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit

from app.gui.identity_backend import StoreIdentityBackend
from app.identity import IdentityStore
from app.paths import open_data_dir
from ledger_core.crypto.passphrase_policy import WeakPassphrase
from ui.identity.page import IdentityPage

PASS = "correct horse battery"


def make_page(qtbot, data_dir):
    store = IdentityStore(open_data_dir(data_dir))
    page = IdentityPage(StoreIdentityBackend(store))
    qtbot.addWidget(page)
    return page, store


def test_create_in_dialog_then_unlock(qtbot, data_dir):
    page, store = make_page(qtbot, data_dir)
    assert page.create_button.isVisibleTo(page) and not store.exists()
    dialog = page.open_create_dialog()
    assert dialog.passphrase.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.confirm.echoMode() == QLineEdit.EchoMode.Password
    qtbot.keyClicks(dialog.org, "Quality Control AG")
    qtbot.keyClicks(dialog.name, "Ada")
    dialog.role.setCurrentText("auditor")
    qtbot.keyClicks(dialog.passphrase, PASS)
    qtbot.keyClicks(dialog.confirm, PASS)
    with qtbot.waitSignal(page.identityChanged, timeout=5000):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    ident = store.load()
    assert ident.org == "Quality Control AG" and ident.role == "auditor"
    assert page.values["key_id"].text() == ident.key_id
    assert store.unlock(PASS).key_id == ident.key_id

    qtbot.keyClicks(page.passphrase, "not the passphrase")
    assert page.try_unlock() is False
    assert "wrong passphrase" in page.unlock_result.text()
    qtbot.keyClicks(page.passphrase, PASS)
    assert page.try_unlock() is True
    assert ident.key_id[:16] in page.unlock_result.text()


def test_dialog_rejects_mismatch_and_short_passphrase(qtbot, data_dir):
    page, store = make_page(qtbot, data_dir)
    dialog = page.open_create_dialog()
    qtbot.keyClicks(dialog.org, "Org")
    qtbot.keyClicks(dialog.passphrase, "abc")
    qtbot.keyClicks(dialog.confirm, "abd")
    dialog.try_create()
    assert "differ" in dialog.error.text() and not store.exists()
    dialog.confirm.setText("abc")
    dialog.try_create()
    assert "at least 12" in dialog.error.text() and not store.exists()
    dialog.close()


def test_dialog_shows_strength_and_refuses_weak(qtbot, data_dir):
    """"password1234" passed the old 8-character minimum; now the hint says weak and the
    dialog refuses it without creating a key."""
    page, store = make_page(qtbot, data_dir)
    dialog = page.open_create_dialog()
    qtbot.keyClicks(dialog.org, "Org")
    assert dialog.strength.text() == ""
    qtbot.keyClicks(dialog.passphrase, "password1234")
    assert dialog.strength.text() == "Strength: weak: a common password"
    qtbot.keyClicks(dialog.confirm, "password1234")
    dialog.try_create()
    assert "Passphrase refused: a common password" in dialog.error.text()
    assert not store.exists() and dialog.created is None
    dialog.passphrase.setText("mountainlake")
    assert dialog.strength.text().startswith("Strength: fair: ")
    dialog.passphrase.setText(PASS)
    assert dialog.strength.text() == "Strength: strong"
    dialog.close()


def test_backend_refuses_weak_passphrase(data_dir):
    store = IdentityStore(open_data_dir(data_dir))
    with pytest.raises(WeakPassphrase, match="common password"):
        StoreIdentityBackend(store).create("Org", "Ada", "auditor", "password1234")
    assert not store.exists()


def test_corrupt_identity_shown_not_overwritten(qtbot, data_dir):
    (data_dir / "identity.json").write_text("{broken")
    page, _ = make_page(qtbot, data_dir)
    assert "cannot be read" in page.message.text()
    assert not page.create_button.isEnabled()
    assert (data_dir / "identity.json").read_text() == "{broken"
