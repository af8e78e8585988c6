"""Command-line tools: `flask create-user`, `flask seed-demo`."""

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from crm.accounts.models import Role, Team
from crm.accounts.users import create_user
from crm.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo
from crm.errors import DomainError
from crm.extensions import db


def register_commands(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.REP.value,
                  show_default=True)
    @click.option("--team", "team_name", help="Name of an existing team.")
    @click.password_option()
    def create_user_command(email, name, role, team_name, password):
        """Add an account (the first admin of a new installation, for instance)."""
        team = None
        if team_name:
            team = db.session.scalars(select(Team).where(Team.name == team_name)).first()
            if team is None:
                raise click.BadParameter(f"no team named {team_name!r}", param_hint="--team")
        try:
            user = create_user(email=email, name=name, role=Role(role), team=team,
                               password=password)
        except DomainError as error:
            raise click.ClickException(str(error.message)) from error
        db.session.commit()
        click.echo(f"Created {user.role.value} account {user.email}.")

    pool_group = AppGroup("pool", help="The public pool (公海).")
    app.cli.add_command(pool_group)

    @pool_group.command("expire")
    def pool_expire_command():
        """Return customers whose protection ended to the pool (the worker does it daily)."""
        from crm.customers.jobs import expire_pool

        click.echo(f"{expire_pool()} customers returned to the pool.")

    reminders_group = AppGroup("reminders", help="Reminders and their delivery.")
    app.cli.add_command(reminders_group)

    @reminders_group.command("run")
    def reminders_run_command():
        """Run every reminder sweep now (running it twice creates nothing new)."""
        from crm.reminders.jobs import deliver, run_reminders

        made = run_reminders()
        for name, count in made.items():
            click.echo(f"{name:20} {count}")
        sent = deliver()
        click.echo("deliveries: " + ", ".join(f"{k} {v}" for k, v in sent.items()))

    @reminders_group.command("digest")
    @click.option("--email", required=True, help="The person whose digest to send now.")
    def reminders_digest_command(email):
        """Send one person's digest now (SMTP_URL must be set)."""
        from crm.reminders.delivery import smtp_configured
        from crm.reminders.jobs import digest_now

        if not smtp_configured():
            raise click.ClickException("SMTP_URL is not set; no e-mail can be sent.")
        try:
            outcome = digest_now(email)
        except LookupError:
            raise click.ClickException(f"no user with the e-mail {email}") from None
        click.echo({"sent": "Digest sent.", "empty": "Nothing to report; no e-mail sent.",
                    "failed": "Sending failed; see the System page."}[outcome])

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Fill an empty database with the demo teams and accounts (once)."""
        if seed_demo():
            click.echo("Demo data created.")
        else:
            click.echo("Demo data already present; nothing changed.")
        click.echo(f"Demo accounts (password {DEMO_PASSWORD}):")
        for email, _name, role, _team in DEMO_ACCOUNTS:
            click.echo(f"  {role.value:8} {email}")

    backup_group = AppGroup("backup", help="Backups taken while the app runs, and restoring one.")
    app.cli.add_command(backup_group)

    @backup_group.command("create")
    @click.argument("dest", type=click.Path(file_okay=False))
    def backup_create_command(dest):
        """Write a consistent snapshot (database, upload store, secret key) into DEST."""
        from crm.backup import BackupError, create_backup

        try:
            snapshot = create_backup(dest)
        except BackupError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"Backup written to {snapshot}")

    @backup_group.command("restore")
    @click.argument("src", type=click.Path(exists=True, file_okay=False))
    def backup_restore_command(src):
        """Restore SRC (a snapshot, or a backup folder: its newest) into an empty instance."""
        from crm.backup import BackupError, restore_backup

        try:
            restored = restore_backup(src)
        except BackupError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"Restored {restored['snapshot']} (taken {restored['created_at']}), "
                   f"{restored['files']} stored files.")

    @app.cli.command("bench-seed")
    @click.option("--customers", default=100_000, show_default=True, type=click.IntRange(1))
    @click.option("--follow-ups", "follow_ups", default=1_000_000, show_default=True,
                  type=click.IntRange(0))
    @click.option("--teams", default=50, show_default=True, type=click.IntRange(2),
                  help="Teams added (a tenth of them regions), ten people in each leaf team.")
    @click.option("--seed", default=16, show_default=True, help="Random seed: same data again.")
    def bench_seed_command(customers, follow_ups, teams, seed):
        """Migrate, add the demo, then a company at scale (for benchmarks; once per database)."""
        import time

        from flask_migrate import upgrade

        from crm.bench_seed import analyze, bench_seeded, seed_at_scale

        started = time.perf_counter()
        upgrade()
        if bench_seeded():
            raise click.ClickException("This database already holds the benchmark data; "
                                       "seed an empty one.")
        _seed_demo_with_redis()
        click.echo(f"{time.perf_counter() - started:6.1f} s  demo data")
        counts = seed_at_scale(customers=customers, follow_ups=follow_ups, teams=teams,
                               seed=seed, say=click.echo)
        db.session.commit()
        analyze()
        click.echo(f"{time.perf_counter() - started:6.1f} s  committed and analysed: "
                   + ", ".join(f"{n} {table}" for table, n in counts.items()))


def _seed_demo_with_redis() -> None:
    """The demo queues its recordings' processing after the commit: without REDIS_URL, an
    embedded Redis takes those jobs (the demo already processed them; the queue is kept)."""
    from pathlib import Path

    from flask import current_app

    from crm.embedded import EmbeddedRedis

    redis = None
    if not current_app.config["REDIS_URL"]:
        redis = EmbeddedRedis(Path(current_app.config["INSTANCE_DIR"]))
        redis.start()
    try:
        seed_demo()
        db.session.commit()
    finally:
        if redis is not None:
            redis.stop()
