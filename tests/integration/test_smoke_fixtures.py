from sqlalchemy import text


def test_fixtures_reach_real_servers(db, redis_client, object_store):
    assert db.execute(text("select 1")).scalar() == 1
    assert redis_client.ping()
    object_store.ping()
