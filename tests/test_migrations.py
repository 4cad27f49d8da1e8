"""Schema migrations: a new database, one made before migrations, one from a newer linkage, and
processes that start at once; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from linkage.records import migrations
from linkage.records.engine import make_engine
from linkage.records.migrations import SchemaMismatch, SchemaTooNew
from linkage.records.store import Store
from linkage.records.tables import Incident, OutboxMessage, StepEvent, WorkOrder
from linkage.settings.config import ConfigError
from tests.conftest import fresh_schema
from tests.test_store import report_record, take_input

ROOT = Path(__file__).resolve().parents[1]

# What SQLModel.metadata.create_all made before migrations (DATETIME on SQLite, TIMESTAMP WITH
# TIME ZONE on PostgreSQL), copied from its output.
LEGACY_DDL = """
CREATE TABLE incident (
	id VARCHAR(60) NOT NULL,
	origin VARCHAR(16) NOT NULL,
	reference VARCHAR(40) NOT NULL,
	received_at {time} NOT NULL,
	township VARCHAR(40) NOT NULL,
	address VARCHAR(200) NOT NULL,
	category VARCHAR(40) NOT NULL,
	urgency VARCHAR(16) NOT NULL,
	description VARCHAR NOT NULL,
	divert_reason VARCHAR NOT NULL,
	originating_unit VARCHAR(80) NOT NULL,
	caller_name VARCHAR(64) NOT NULL,
	caller_phone VARCHAR(20) NOT NULL,
	caller_id_number VARCHAR(32) NOT NULL,
	stage VARCHAR(24) NOT NULL,
	owner VARCHAR(16) NOT NULL,
	limits_version VARCHAR(40) NOT NULL,
	pushes INTEGER NOT NULL,
	overdue BOOLEAN NOT NULL,
	category_code VARCHAR(8) NOT NULL,
	subcategory VARCHAR(8) NOT NULL,
	direction VARCHAR(8) NOT NULL,
	triage_confidence FLOAT,
	needs_review BOOLEAN NOT NULL,
	safety BOOLEAN NOT NULL,
	route_unit VARCHAR(80) NOT NULL,
	catalogue_version VARCHAR(40) NOT NULL,
	version INTEGER NOT NULL,
	updated_at {time} NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_incident_origin ON incident (origin);
CREATE INDEX ix_incident_stage ON incident (stage);
CREATE INDEX ix_incident_township ON incident (township);
CREATE INDEX ix_incident_subcategory ON incident (subcategory);
CREATE TABLE policecase (
	case_no VARCHAR(60) NOT NULL,
	incident_id VARCHAR(60) NOT NULL,
	unit VARCHAR(80) NOT NULL,
	step VARCHAR(24) NOT NULL,
	overdue BOOLEAN NOT NULL,
	completed BOOLEAN NOT NULL,
	on_time BOOLEAN,
	version INTEGER NOT NULL,
	updated_at {time} NOT NULL,
	PRIMARY KEY (case_no)
);
CREATE INDEX ix_policecase_incident_id ON policecase (incident_id);
CREATE TABLE workorder (
	order_no VARCHAR(60) NOT NULL,
	incident_id VARCHAR(60) NOT NULL,
	unit VARCHAR(80) NOT NULL,
	step VARCHAR(24) NOT NULL,
	returns INTEGER NOT NULL,
	reopens INTEGER NOT NULL,
	overdue BOOLEAN NOT NULL,
	completed BOOLEAN NOT NULL,
	on_time BOOLEAN,
	satisfaction VARCHAR(24) NOT NULL,
	version INTEGER NOT NULL,
	updated_at {time} NOT NULL,
	PRIMARY KEY (order_no)
);
CREATE INDEX ix_workorder_incident_id ON workorder (incident_id);
CREATE TABLE stepevent (
	id VARCHAR(100) NOT NULL,
	incident_id VARCHAR(60) NOT NULL,
	at {time} NOT NULL,
	loop VARCHAR(16) NOT NULL,
	step VARCHAR(24) NOT NULL,
	action VARCHAR(40) NOT NULL,
	actor VARCHAR(200) NOT NULL,
	note VARCHAR NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_stepevent_incident_id ON stepevent (incident_id);
CREATE TABLE outboxmessage (
	id VARCHAR(120) NOT NULL,
	target VARCHAR(16) NOT NULL,
	kind VARCHAR(24) NOT NULL,
	incident_id VARCHAR(60) NOT NULL,
	payload JSON NOT NULL,
	status VARCHAR(16) NOT NULL,
	attempts INTEGER NOT NULL,
	last_error VARCHAR NOT NULL,
	created_at {time} NOT NULL,
	delivered_at {time},
	PRIMARY KEY (id)
);
CREATE INDEX ix_outboxmessage_incident_id ON outboxmessage (incident_id);
CREATE INDEX ix_outboxmessage_status ON outboxmessage (status);
CREATE INDEX ix_outboxmessage_target ON outboxmessage (target);
"""

LEGACY_ROWS = """
INSERT INTO incident VALUES ('police-JJ0001', 'police', 'JJ0001', '2026-11-29 01:30:00',
  '黄埭镇', '春申路1号', '市容管理', 'routine', '占道经营', '非警务', '黄埭派出所', '王小明',
  '13912345678', '', 'handling', 'hotline', 'v1', 2, FALSE, 'H02', 'H02.07', 'hotline', 0.9,
  FALSE, FALSE, '区城管局', 'c1', 7, '2026-11-29 02:00:00');
INSERT INTO workorder VALUES ('GD-JJ0001', 'police-JJ0001', '区城管局', 'sign', 0, 0, FALSE,
  FALSE, NULL, '', 7, '2026-11-29 02:00:00');
INSERT INTO stepevent VALUES ('police-JJ0001#1', 'police-JJ0001', '2026-11-29 01:31:00',
  'incident', 'sending_review', 'approve', 'police_bureau:区公安分局', '');
INSERT INTO outboxmessage VALUES ('police-JJ0001:incident', 'hotline', 'incident',
  'police-JJ0001', '{"owner": "hotline"}', 'pending', 1, 'refused', '2026-11-29 01:32:00', NULL);
"""

TIME = {"sqlite": "DATETIME", "postgresql": "TIMESTAMP WITH TIME ZONE"}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """An empty database of the test's own: (dialect, url)."""
    if request.param == "sqlite":
        yield "sqlite", f"sqlite:///{tmp_path / 'records.db'}"
        return
    with fresh_schema("linkage_migrate") as url:
        yield "postgresql", url


def execute(url: str, script: str) -> None:
    """Run raw SQL statements, as a database made by hand or by older code would have."""
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in script.split(";"):
            if statement.strip():
                connection.exec_driver_sql(statement)
    engine.dispose()


def revision(store: Store) -> tuple[str, ...]:
    with store.engine.connect() as connection:
        return migrations.current(connection)


def differences(store: Store) -> list:
    """What the migrated schema lacks or has beyond the models (nothing, when they agree)."""
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def test_a_new_database_is_migrated_to_the_schema_the_models_write(database):
    _, url = database
    store = Store(url)
    assert revision(store) == (migrations.head(),)
    assert differences(store) == []
    Store(url)  # starting again changes nothing
    assert revision(store) == (migrations.head(),)


def shape(url: str) -> set[tuple]:
    """Every table's columns (name, type, nullable) and indexes, as the database reports them."""
    engine = make_engine(url)
    inspector = inspect(engine)
    found = set()
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        for c in inspector.get_columns(table):
            found.add((table, c["name"], str(c["type"]), c["nullable"]))
        for index in inspector.get_indexes(table):
            found.add((table, index["name"], tuple(index["column_names"]), index["unique"]))
    engine.dispose()
    return found


def test_revision_0001_is_the_schema_made_before_migrations(database):
    dialect, url = database
    execute(url, LEGACY_DDL.format(time=TIME[dialect]))
    legacy = shape(url)
    execute(
        url,
        ";".join(
            f"DROP TABLE {t}"
            for t in ["incident", "policecase", "workorder", "stepevent", "outboxmessage"]
        ),
    )
    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(migrations.alembic_config(connection), "0001")
    engine.dispose()
    assert shape(url) == legacy


def test_a_database_made_before_migrations_is_taken_over_with_its_rows(database):
    dialect, url = database
    execute(url, LEGACY_DDL.format(time=TIME[dialect]) + LEGACY_ROWS)
    store = Store(url)
    assert revision(store) == (migrations.head(),)
    assert differences(store) == []
    incident = store.get(Incident, "police-JJ0001")
    assert (incident.stage, incident.pushes, incident.version) == ("handling", 2, 7)
    assert store.get(WorkOrder, "GD-JJ0001").step == "sign"
    assert [e.action for e in store.timeline("police-JJ0001")] == ["approve"]
    message = store.get(OutboxMessage, "police-JJ0001:incident")
    assert message.payload == {"owner": "hotline"} and message.failed_at is None
    assert isinstance(store.get(StepEvent, "police-JJ0001#1").at.year, int)
    assert {"intakeclaim", "intakereport"} <= set(inspect(store.engine).get_table_names())
    # and the intake works on it
    assert store.take_report(take_input(report_record())).new


def test_columns_older_versions_lacked_are_added_with_their_defaults(database):
    dialect, url = database
    before_triage = "\n".join(
        line
        for line in LEGACY_DDL.format(time=TIME[dialect]).splitlines()
        if not line.strip().startswith(("route_unit", "safety", "catalogue_version"))
    )
    rows = LEGACY_ROWS.replace("FALSE, FALSE, '区城管局', 'c1', 7", "FALSE, 7")
    execute(url, before_triage + rows)
    store = Store(url)
    columns = {c["name"] for c in inspect(store.engine).get_columns("incident")}
    assert {"route_unit", "safety", "catalogue_version"} <= columns
    incident = store.get(Incident, "police-JJ0001")
    assert (incident.route_unit, incident.safety, incident.version) == ("", False, 7)
    assert differences(store) == []


def test_a_database_that_cannot_be_taken_over_is_left_as_it_was(database):
    dialect, url = database
    execute(url, "CREATE TABLE workorder (order_no VARCHAR(60) PRIMARY KEY, incident_id TEXT)")
    with pytest.raises(SchemaMismatch, match="lacks columns workorder.step, workorder.updated_at"):
        Store(url)
    engine = make_engine(url)
    assert inspect(engine).get_table_names() == ["workorder"]  # nothing added, nothing stamped
    engine.dispose()


def test_a_database_of_a_newer_linkage_is_refused(database):
    _, url = database
    Store(url)
    execute(url, "UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(SchemaTooNew, match="revision 0099, which this version of linkage") as err:
        Store(url)
    assert isinstance(err.value, ConfigError)


def test_processes_starting_at_once_migrate_once(database):
    _, url = database
    starter = (
        "import sys; from linkage.records.store import Store; "
        "from linkage.records import migrations\n"
        "store = Store(sys.argv[1])\n"
        "with store.engine.connect() as c: print(migrations.current(c)[0])\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", starter, url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, json.dumps(outcomes, ensure_ascii=False)
    assert [out.strip() for out, _ in outcomes] == [migrations.head()] * 4
    store = Store(url)
    assert differences(store) == []


def test_rows_written_before_sealing_are_sealed_and_a_downgrade_unseals_them(database):
    dialect, url = database
    execute(url, LEGACY_DDL.format(time=TIME[dialect]) + LEGACY_ROWS)
    store = Store(url)  # migrated to the head: the rows there are sealed in place

    def raw_phone() -> str:
        with store.engine.connect() as connection:
            return connection.execute(
                text("SELECT caller_phone FROM incident WHERE id = 'police-JJ0001'")
            ).scalar_one()

    assert raw_phone().startswith("enc:") and "13912345678" not in raw_phone()
    assert store.get(Incident, "police-JJ0001").caller_phone == "13912345678"
    with store.engine.begin() as connection:
        command.downgrade(migrations.alembic_config(connection), "0004_assessment")
    assert raw_phone() == "13912345678"


def test_the_newest_revision_read_without_alembic_is_alembics_head():
    assert migrations.newest() == migrations.head()


FREE_TEXT_ROWS = """
INSERT INTO auditentry (at, principal, role, unit, token_id, via, action, incident_id,
  allowed, reason, detail) VALUES ('2026-11-29 01:33:00', 'desk', 'hotline_desk', '', '', 'api',
  'act', 'police-JJ0001', FALSE, '来电人王小明 13912345678 不得', '{"forged_actor": "王小明"}');
INSERT INTO issuedtoken (jti, issuer, name, role, unit, revoked_by, reason)
  VALUES ('j1', '', 'desk', 'hotline_desk', '', 'admin', '泄露给王小明');
"""


def test_free_text_written_before_0009_is_sealed_in_place_and_read_back(database):
    dialect, url = database
    execute(url, LEGACY_DDL.format(time=TIME[dialect]) + LEGACY_ROWS)
    store = Store(url)
    with store.engine.begin() as connection:  # as 0008 left them: the free text in the clear
        command.downgrade(migrations.alembic_config(connection), "0008_key_check")
    execute(url, FREE_TEXT_ROWS)
    migrations.upgrade(store.engine)  # to the head: the free text there is sealed
    queries = {
        "非警务": "SELECT divert_reason FROM incident",
        "refused": "SELECT last_error FROM outboxmessage",
        "13912345678": "SELECT reason FROM auditentry",
        "王小明": "SELECT detail FROM auditentry",
        "泄露": "SELECT reason FROM issuedtoken",
    }
    with store.engine.connect() as connection:
        for plain, query in queries.items():
            raw = str(connection.execute(text(query)).scalar_one())
            assert raw.startswith("enc:") and plain not in raw, query
    assert store.get(Incident, "police-JJ0001").divert_reason == "非警务"
    assert store.get(OutboxMessage, "police-JJ0001:incident").last_error == "refused"
    with store.engine.begin() as connection:
        command.downgrade(migrations.alembic_config(connection), "0008_key_check")
        assert connection.execute(text(queries["非警务"])).scalar_one() == "非警务"
