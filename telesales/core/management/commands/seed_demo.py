"""``telesales seed-demo``: build the deterministic demo center (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from telesales.core.setup_steps import demo_steps


class Command(BaseCommand):
    help = "Create the demo center: teams, people, logins (password 'demo'), seats and more."

    def add_arguments(self, parser):
        parser.add_argument(
            "--agents",
            type=int,
            default=66,
            help="Number of sales agents (default 66; e.g. 2000 for benchmarks).",
        )
        parser.add_argument("--seed", type=int, default=20261101, help="Random seed.")

    def handle(self, *args, **options):
        agents = options["agents"]
        if agents < 6 or agents > 100_000:
            raise CommandError("--agents must be between 6 and 100000")
        for step in demo_steps():
            self.stdout.write(f"Demo data: {step.name}")
            try:
                step.run(agents=agents, seed=options["seed"], stdout=self.stdout)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS("Demo center ready. Sign in with password 'demo' as:"))
        self.stdout.write(
            "  manager · teamlead1 … · agent1 … · recruiter · hr · trainer · "
            "planner · data · renewal"
        )
