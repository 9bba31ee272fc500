"""The one wiring point: everything the CLI and the web app need, built from settings.

Nothing here runs at import time, so tests can build one system on SQLite and
another on PostgreSQL side by side.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from platekeeper.policy.profile import PolicyProfile, load_profile
from platekeeper.services import second_factor
from platekeeper.settings import Settings
from platekeeper.store import db, partitions
from platekeeper.store.images import DayKeyring, ImageStore, load_or_create_master_key
from platekeeper.store.keyfiles import load_or_create_key_file, parse_key

if TYPE_CHECKING:
    from platekeeper.recognition.base import PlateRecognizer
    from platekeeper.recognition.people import PeopleBlurrer


class NotMigratedError(RuntimeError):
    pass


class BlurUnavailableError(RuntimeError):
    pass


@dataclass
class System:
    settings: Settings
    profile: PolicyProfile
    engine: Engine
    sessions: sessionmaker[Session]
    images: ImageStore
    secret_key: bytes  # signs CSRF tokens
    field_key: bytes  # encrypts second-factor secrets; derived from the master key
    _recognizer: PlateRecognizer | None = field(default=None, repr=False)
    _blurrer: PeopleBlurrer | None = field(default=None, repr=False)
    _recognizer_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool = False) -> System:
        """Open the database (upgrading it when ``migrate``) and the image store."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        profile = load_profile(settings.profile)
        engine = db.make_engine(settings.resolved_database_url)
        if migrate:
            db.upgrade(engine)
        elif not db.is_up_to_date(engine):
            raise NotMigratedError(
                f"the database at {engine.url.render_as_string(hide_password=True)} is not at the current "
                "schema: run `platekeeper db upgrade`"
            )
        partitions.ensure_ahead(engine)  # day partitions of reads on PostgreSQL: a week ahead (no-op on SQLite)
        sessions = db.make_session_factory(engine)
        master = load_or_create_master_key(
            settings.master_key.get_secret_value() if settings.master_key else None,
            settings.data_dir,
            production=settings.production,
        )
        images = ImageStore(settings.data_dir / "images", DayKeyring(sessions, master))
        if settings.secret_key:
            secret = parse_key(settings.secret_key.get_secret_value(), "the secret key")
        else:
            secret, _ = load_or_create_key_file(settings.data_dir / "secret.key", "the secret key")
        system = cls(
            settings=settings,
            profile=profile,
            engine=engine,
            sessions=sessions,
            images=images,
            secret_key=secret,
            field_key=second_factor.field_key(master),
        )
        _ = system.people_blurrer  # with blur_people on, refuse to start where blurring cannot run (CAP-4)
        return system

    @property
    def recognizer(self) -> PlateRecognizer:
        """Loaded on first use: the models take a second or two to load."""
        with self._recognizer_lock:
            if self._recognizer is None:
                from platekeeper.recognition.pipeline import default_recognizer

                self._recognizer = default_recognizer(threads=self.settings.recognition_threads)
            return self._recognizer

    @property
    def people_blurrer(self) -> PeopleBlurrer | None:
        """CAP-4: the blurrer for stored frames when the ``blur_people`` setting is on, else None."""
        if not self.settings.blur_people:
            return None
        with self._recognizer_lock:
            if self._blurrer is None:
                from platekeeper.recognition.people import PeopleBlurrer

                blurrer = PeopleBlurrer()
                if not blurrer.available:  # refuse to store frames unblurred when blurring was asked for
                    raise BlurUnavailableError(
                        "blur_people is on, but OpenCV's cascade classifier or its cascade files are missing "
                        "(install opencv-python-headless 4.x, or Debian's opencv-data)"
                    )
                self._blurrer = blurrer
            return self._blurrer

    def close(self) -> None:
        self.engine.dispose()
