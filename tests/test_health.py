def test_health_without_login(client):
    assert client.get("/health").get_json() == {"status": "ok"}


def test_ready_reports_database_and_redis(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}
