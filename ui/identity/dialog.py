"""Dialog that creates the local identity: organisation, name, role, masked passphrase with a
live strength hint; a weak passphrase is refused before the backend is asked."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from ledger_core.crypto.passphrase_policy import (
    MIN_LENGTH,
    WeakPassphrase,
    assess,
    require_acceptable,
)
from ui.identity.backend import IdentityBackend


class CreateIdentityDialog(QDialog):
    def __init__(self, backend: IdentityBackend, parent=None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.created: dict[str, str] | None = None
        self.setWindowTitle("Create identity")
        self.org = QLineEdit()
        self.org.setPlaceholderText("e.g. Steelworks Line 3 GmbH")
        self.name = QLineEdit()
        self.name.setPlaceholderText("your name")
        self.role = QComboBox()
        self.role.addItems(list(backend.roles))
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText(f"at least {MIN_LENGTH} characters; several words")
        self.strength = QLabel("")
        self.strength.setObjectName("hint")
        self.passphrase.textChanged.connect(self.show_strength)
        self.confirm = QLineEdit()
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel("")
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Organisation", self.org)
        form.addRow("Name", self.name)
        form.addRow("Role", self.role)
        form.addRow("Passphrase", self.passphrase)
        form.addRow("", self.strength)
        form.addRow("Repeat passphrase", self.confirm)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create key")
        self.buttons.accepted.connect(self.try_create)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        hint = QLabel(
            "The Ed25519 key is stored encrypted with this passphrase. "
            "It cannot be recovered if the passphrase is lost."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def show_strength(self, text: str) -> None:
        self.strength.setText(f"Strength: {assess(text).hint}" if text else "")

    def try_create(self) -> None:
        if self.passphrase.text() != self.confirm.text():
            self.error.setText("The passphrases differ.")
            return
        try:
            require_acceptable(self.passphrase.text())
        except WeakPassphrase as exc:
            self.error.setText(f"{str(exc)[0].upper()}{str(exc)[1:]}.")
            return
        org = self.org.text().strip()
        try:
            name = self.name.text().strip() or org
            self.created = self.backend.create(
                org, name, self.role.currentText(), self.passphrase.text()
            )
        except Exception as exc:  # the backend's message is the user's message
            self.error.setText(str(exc))
            return
        self.accept()
