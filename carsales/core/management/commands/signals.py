"""`manage.py signals`: every signal in use, its contract and its receivers in calling order."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from carsales.core.signal_map import signal_map, signal_map_as_data


class Command(BaseCommand):
    help = "Print every signal in use with its receivers, in the order Django calls them, and how each runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the map as JSON, for machines.")
        parser.add_argument(
            "--all", action="store_true", help="Also list Django's signals that nothing of ours is connected to."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(signal_map_as_data(), indent=2))
            return
        for info in signal_map():
            if not info.connections and info.kind not in {"domain", "custom"} and not options["all"]:
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
