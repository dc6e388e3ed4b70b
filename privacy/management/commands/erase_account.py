"""`manage.py erase_account <username> [--yes] [--now]`: erase a person's account, as staff do
in the admin (`privacy.erasure`). It asks for the username again unless `--yes`; `--now` runs
the erasure here instead of in a worker and prints what was done."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from privacy import tasks
from privacy.erasure import request_erasure
from privacy.management.commands._people import person
from privacy.models import ErasureRequest


class Command(BaseCommand):
    help = "Erase a person's account: revoke their grants, delete their data, anonymize audit."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--yes", action="store_true", help="do not ask to confirm")
        parser.add_argument("--now", action="store_true", help="run it here, not in a worker")

    def handle(self, *args, **options) -> None:
        username = options["username"]
        user = person(username)
        if not options["yes"]:
            try:
                answer = input(
                    f"This erases {username!r} and everything DayFlow holds about them; it "
                    "cannot be undone. Type the username again to go on: "
                )
            except EOFError as exc:  # nobody to ask
                raise CommandError("not confirmed: give --yes when nobody can answer") from exc
            if answer.strip() != username:
                raise CommandError("not confirmed: nothing was erased")
        # Run inside the transaction, the task queued on commit finds it done and stops.
        with transaction.atomic():
            erasure = request_erasure(user, by_staff=True)
            if options["now"]:
                tasks.erase_account(erasure.pk)
        erasure.refresh_from_db()
        if erasure.status == ErasureRequest.Status.DONE:
            done = ", ".join(f"{name}: {count}" for name, count in sorted(erasure.counts.items()))
            self.stdout.write(f"erasure {erasure.pk} done ({done or 'nothing held'})")
        elif erasure.status == ErasureRequest.Status.WAITING:
            self.stdout.write(
                f"erasure {erasure.pk} waits for a service ({erasure.last_error}); "
                "it is retried automatically"
            )
        else:
            self.stdout.write(f"erasure {erasure.pk} queued: {username} can no longer log in")
