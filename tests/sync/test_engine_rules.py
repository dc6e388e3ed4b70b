def test_widening_after_letting_go_an_imported_item_copies_it_without_dayflows_id(
    connection, remote, run_sync
):
    """The limit documented in architecture.md ("Rules: what syncs"): an item imported from
    the service carries no DayFlow id there, so once let go nothing pairs it again."""
    set_rules(connection, {"task": {"status": "open"}})
    remote_id = remote.add(**task_fields("imported"))
    run_sync()
    remote.edit(remote_id, status="done")
    run_sync()  # completed here too, then let go

    set_rules(connection, {})
    run_sync()

    assert Task.objects.filter(title="imported").count() == 2
    assert len(remote.items) == 2
