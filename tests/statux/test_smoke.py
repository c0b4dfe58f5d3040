def test_health_answers_ok_with_version(api_client, db):
    response = api_client.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
