import logging

from celery import shared_task

from audit.chain import verify

logger = logging.getLogger(__name__)


@shared_task(name="audit.verify_chain")
def verify_chain() -> bool:
    """Beat runs this daily; the result is kept (AuditVerification) for the compliance report."""
    verdict = verify()
    if not verdict.ok:
        logger.error("audit chain broken at event %s: %s", verdict.first_bad_id, verdict.problem)
    return verdict.ok
