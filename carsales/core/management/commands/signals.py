"""`manage.py signals`: every signal in use, its contract and its receivers in calling order;
`--explain OPERATION`: what one operation sets off, run in a transaction that is rolled back."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carsales.core.explain import Explanation, Fired, explain, scenario_for, scenarios
from carsales.core.signal_map import signal_map, signal_map_as_data, signal_map_markdown


class Command(BaseCommand):
    help = "Print every signal in use with its receivers, in the order Django calls them, and how each runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON, for machines.")
        parser.add_argument(
            "--markdown",
            action="store_true",
            help="Print the project's receivers as the map embedded in docs/signals.md.",
        )
        parser.add_argument(
            "--all", action="store_true", help="Also list Django's signals that nothing of ours is connected to."
        )
        parser.add_argument(
            "--log", nargs="?", const=10, type=int, metavar="N", help="Print the latest N chains of the timeline (10)."
        )
        parser.add_argument(
            "--explain",
            nargs="+",
            metavar="OPERATION",
            help="Run an operation ('catalog.Car save', 'catalog.Car edit', 'catalog.Car delete', 'checkout', "
            "'pay', 'cancel', or a signal it sends such as order_placed) in a transaction that is rolled back, "
            "and print the tree of what fired.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["log"]:
            self._log(options["log"], as_json=options["json"])
        elif options["explain"]:
            self._explain(" ".join(options["explain"]), as_json=options["json"])
        elif options["markdown"]:
            self.stdout.write(signal_map_markdown())
        elif options["json"]:
            self.stdout.write(json.dumps(signal_map_as_data(), indent=2))
        else:
            self._map(show_all=options["all"])

    def _log(self, count: int, *, as_json: bool) -> None:
        # Imported here: core builds the map, the timeline is observability's (installed after every app).
        from carsales.observability.selectors import timeline_chain, timeline_chains

        chains = timeline_chains(limit=count)
        if as_json:
            data = [
                {
                    **vars(chain),
                    "started": chain.started.isoformat(),
                    "steps": _steps(timeline_chain(chain=chain.chain)),
                }
                for chain in chains
            ]
            self.stdout.write(json.dumps(data, indent=2))
            return
        for chain in reversed(chains):
            state = "committed" if chain.committed else "ROLLED BACK"
            self.stdout.write(
                self.style.MIGRATE_HEADING(f"{chain.started:%Y-%m-%d %H:%M:%S}  {chain.cause}  [{state}]")
            )
            self._steps(timeline_chain(chain=chain.chain), depth=1)

    def _steps(self, steps: list[Any], *, depth: int) -> None:
        for step in steps:
            record = step.record
            failed = "  FAILED" if record.outcome == "error" else ""
            self.stdout.write(f"{'  ' * depth}{record.name}  {record.detail}  {record.ms:.1f} ms{failed}")
            self._steps(step.children, depth=depth + 1)

    def _map(self, *, show_all: bool) -> None:
        for info in signal_map():
            if not info.connections and info.kind not in {"domain", "custom"} and not show_all:
                continue
            self.stdout.write(self.style.MIGRATE_HEADING(f"{info.name}  [{info.kind}]"))
            if info.doc:
                self.stdout.write("    " + info.doc.splitlines()[0])
            for connection in info.connections:
                self.stdout.write(
                    f"  {connection.order:>2}. {connection.receiver}\n"
                    f"      sender: {connection.sender} · uid: {connection.dispatch_uid or '—'} · "
                    f"{connection.mode_detail}"
                )
            if not info.connections:
                self.stdout.write("      nothing connected")

    def _explain(self, name: str, *, as_json: bool) -> None:
        try:
            scenario = scenario_for(name)
        except LookupError as unknown:
            raise CommandError(str(unknown))
        result = explain(scenario.name)
        if as_json:
            self.stdout.write(json.dumps(result.as_data(), indent=2))
            return
        self.stdout.write(self.style.MIGRATE_HEADING(f"{scenario.name}: {scenario.doc}"))
        self.stdout.write("Run in a transaction that was rolled back: nothing was kept.\n")
        self._tree(result.fired, prefix="")
        self._owed(result)
        known = ", ".join(sorted(scenarios))
        self.stdout.write(f"\nTotal {result.ms:.1f} ms, {result.queries} SQL statements.  (Operations: {known}.)")

    def _tree(self, nodes: list[Fired], *, prefix: str) -> None:
        for index, node in enumerate(nodes):
            last = index == len(nodes) - 1
            branch = "" if not prefix and node.kind == "signal" else ("└─ " if last else "├─ ")
            if node.kind == "signal":
                line = self.style.SUCCESS(node.name) + f"  (sender {node.detail})"
            else:
                line = f"{node.name}  {node.detail}  {node.ms:.1f} ms  {node.queries} SQL"
            self.stdout.write(f"{prefix}{branch}{line}")
            deeper = prefix + ("" if not branch else ("   " if last else "│  "))
            self._tree(node.children, prefix=deeper)

    def _owed(self, result: Explanation) -> None:
        if not result.owed:
            return
        self.stdout.write("\nDurable deliveries it owes (written in the transaction, rolled back, never run):")
        for owed in result.owed:
            self.stdout.write(f"  {owed.receiver}  queue {owed.queue}  not before {owed.run_after}")


def _steps(steps: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "kind": step.record.kind,
            "name": step.record.name,
            "detail": step.record.detail,
            "subject": step.record.subject,
            "ms": step.record.ms,
            "outcome": step.record.outcome,
            "committed": step.record.committed,
            "children": _steps(step.children),
        }
        for step in steps
    ]
