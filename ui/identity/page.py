"""The Identity perspective: the local organisation, role and key id; create or unlock the key."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.identity.backend import IdentityBackend
from ui.identity.dialog import CreateIdentityDialog

FIELDS = (
    ("organisation", "Organisation"),
    ("name", "Name"),
    ("role", "Role"),
    ("key_id", "Key id"),
    ("created", "Created"),
)


class IdentityPage(QWidget):
    identityChanged = Signal(dict)

    def __init__(self, backend: IdentityBackend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.title = QLabel("Identity")
        self.title.setObjectName("pageTitle")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.values: dict[str, QLabel] = {}
        box = QGroupBox("Local identity")
        form = QFormLayout(box)
        for key, label in FIELDS:
            value = QLabel("—")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[key] = value
            form.addRow(label, value)
        self.create_button = QPushButton("Create identity…")
        self.create_button.setObjectName("primary")
        self.create_button.clicked.connect(self.open_create_dialog)

        unlock_box = QGroupBox("Check passphrase")
        unlock_layout = QHBoxLayout(unlock_box)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("passphrase")
        self.unlock_button = QPushButton("Unlock key")
        self.unlock_button.clicked.connect(self.try_unlock)
        self.passphrase.returnPressed.connect(self.try_unlock)
        self.unlock_result = QLabel("")
        unlock_layout.addWidget(self.passphrase, 1)
        unlock_layout.addWidget(self.unlock_button)
        unlock_layout.addWidget(self.unlock_result, 1)
        self.unlock_box = unlock_box

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 18)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addWidget(box)
        button_row = QHBoxLayout()
        button_row.addWidget(self.create_button)
        button_row.addStretch(1)
        layout.addLayout(button_row)
        layout.addWidget(unlock_box)
        layout.addStretch(1)
        self.dialog: CreateIdentityDialog | None = None
        self.refresh()

    def shutdown(self) -> None:
        """Nothing of this page runs off the GUI thread; a create dialog still open closes."""
        if self.dialog is not None:
            self.dialog.close()

    def refresh(self) -> None:
        try:
            info = self.backend.describe()
        except Exception as exc:  # corrupt file: say so, keep the file
            info = None
            self.message.setObjectName("errorText")
            self.message.setText(f"The identity cannot be read: {exc}")
            self.create_button.setEnabled(False)
        else:
            self.message.setObjectName("hint")
            if info is None:
                self.message.setText(
                    "This installation has no identity yet. Create one to sign transactions."
                )
            else:
                self.message.setText("Transactions from this station are signed with this key.")
            self.create_button.setEnabled(info is None)
        self.message.style().polish(self.message)
        for key, _ in FIELDS:
            self.values[key].setText((info or {}).get(key, "—"))
        self.create_button.setVisible(info is None)
        self.unlock_box.setVisible(info is not None)

    def open_create_dialog(self) -> CreateIdentityDialog:
        self.dialog = CreateIdentityDialog(self.backend, self)
        self.dialog.accepted.connect(self._created)
        self.dialog.open()
        return self.dialog

    def _created(self) -> None:
        self.refresh()
        if self.dialog is not None and self.dialog.created:
            self.identityChanged.emit(self.dialog.created)

    def try_unlock(self) -> bool:
        try:
            kid = self.backend.unlock(self.passphrase.text())
        except Exception as exc:
            self.unlock_result.setObjectName("errorText")
            self.unlock_result.setText(str(exc))
            ok = False
        else:
            self.unlock_result.setObjectName("hint")
            self.unlock_result.setText(f"Key {kid[:16]}… unlocked")
            ok = True
        self.unlock_result.style().polish(self.unlock_result)
        self.passphrase.clear()
        return ok
