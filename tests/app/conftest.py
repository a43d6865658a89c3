"""Fixtures of the app tests: a data directory with an identity and its running dev node."""

from __future__ import annotations

import pytest

from app.paths import DataDir
from app.services.genesis import dev_genesis
from app.services.node_key import load_node_key
from ledger_core.chain import genesis as gen
from tests.support import nodeproc

PASSPHRASE = "correct horse battery"


@pytest.fixture
def node_dir(data_dir, run_cli, monkeypatch):
    """An identity (ACME Steel, trainer) and `bcmlp node --dev` serving its data directory."""
    monkeypatch.setenv("BCMLP_PASSPHRASE", PASSPHRASE)
    assert run_cli("init", "--org", "ACME Steel", "--role", "trainer", "--name", "Ada",
                   "--data-dir", str(data_dir))[0] == 0
    # the dev genesis (every business role), with a threshold newcomers meet: on a one-organisation
    # chain nobody can rate anybody up (self-ratings are refused)
    dd = DataDir(data_dir)
    node = load_node_key(data_dir, create=True)
    g = dev_genesis(dd, node)
    g = gen.make(g.body["chain_name"], g.body["genesis_time"], g.body["organisations"], g.body["participants"],
                 g.validators, {"trust_threshold_permille": 500})
    dd.genesis_file.write_bytes(gen.dumps(g))
    proc, cl = nodeproc.start(data_dir)
    yield data_dir
    assert nodeproc.stop(proc, cl) == 0
