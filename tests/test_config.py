"""Configuration from LEARNING_* variables, and the secret key kept in the instance folder."""
import stat

from learning import create_app
from learning.config import Config, load_or_create_secret_key


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = load_or_create_secret_key(tmp_path)
    assert len(first) == 64
    assert load_or_create_secret_key(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_defaults(monkeypatch, tmp_path):
    for name in ("LEARNING_DATABASE_URL", "LEARNING_SECRET_KEY", "LEARNING_TIMEZONE", "LEARNING_DEFAULT_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    config = Config(tmp_path)
    assert config.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'learning.db'}"
    assert config.TIMEZONE == "Asia/Shanghai" and config.BABEL_DEFAULT_LOCALE == "zh_Hans_CN"
    assert config.SECRET_KEY == (tmp_path / "secret_key").read_text()
    assert config.SESSION_COOKIE_SECURE is True
    assert config.validate() == []


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("LEARNING_DATABASE_URL", "postgresql://u@db:5432/learning")
    monkeypatch.setenv("LEARNING_SECRET_KEY", "from-env")
    monkeypatch.setenv("LEARNING_TIMEZONE", "Asia/Urumqi")
    monkeypatch.setenv("LEARNING_SESSION_COOKIE_SECURE", "0")
    config = Config(tmp_path)
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@db:5432/learning"
    assert config.SECRET_KEY == "from-env" and not (tmp_path / "secret_key").exists()
    assert config.TIMEZONE == "Asia/Urumqi" and config.SESSION_COOKIE_SECURE is False


def test_bad_values_are_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("LEARNING_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("LEARNING_DEFAULT_LOCALE", "fr")
    problems = Config(tmp_path).validate()
    assert len(problems) == 2 and "Mars/Olympus" in problems[0]


def test_create_app_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LEARNING_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.db")
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text()


def test_a_workers_pool_matches_its_threads_and_the_pooler_is_checked(monkeypatch, tmp_path):
    for name in ("LEARNING_DB_POOL_SIZE", "LEARNING_DB_MAX_OVERFLOW"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEARNING_THREADS", "6")
    config = Config(tmp_path)
    assert (config.SQLALCHEMY_ENGINE_OPTIONS["pool_size"], config.SQLALCHEMY_ENGINE_OPTIONS["max_overflow"]) == (6, 2)
    monkeypatch.setenv("LEARNING_DB_POOL_SIZE", "3")
    monkeypatch.setenv("LEARNING_DB_POOLER", "pgpool")
    config = Config(tmp_path)
    assert config.SQLALCHEMY_ENGINE_OPTIONS["pool_size"] == 3
    assert config.validate() == ["LEARNING_DB_POOLER='pgpool' is not empty or pgbouncer"]


def test_behind_pgbouncer_no_startup_options_and_no_prepared_statements(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "postgresql://u@db/x",
                      "DB_POOLER": "pgbouncer"})
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"prepare_threshold": None}
    direct = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "postgresql://u@db/x"})
    assert direct.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {
        "options": "-c statement_timeout=15000 -c lock_timeout=5000"}
