//! The WebSocket function API Gateway calls in AWS (`$connect`, `$default`, `$disconnect`),
//! against a real PostgreSQL: sessions checked at the handshake, connections remembered,
//! frames forwarded to the table's inbox or answered, disconnections reported.

use agents_api::websocket::{Event, Outcome, handle};
use serde_json::Value;
use simrunner::domain::{NewAgent, RunId};
use simrunner::store::agents::{Creator, register_agent};
use simrunner::store::recording::{NewTable, open_table};
use simrunner::store::seating::{self, InboxKind};
use simrunner::testing::{TestDatabase, bot_simulation, fresh_database, queued_run};

/// A waiting table with one external seat taken by a fresh agent: (table, session token).
async fn seated(db: &TestDatabase) -> (String, String) {
    let config = bot_simulation(db, &["external", "tight"], "live", 1, (5, 10), 1000).await;
    let run: RunId = queued_run(db, &config, None).await;
    let table = format!("tbl_{}", uuid_hex());
    let mut client = db.pool.get().await.unwrap();
    open_table(
        &mut client,
        &NewTable {
            id: &table,
            run: &run,
            name: "ws",
            bucket_key: "b",
            small_blind: 5,
            big_blind: 10,
            initial_stack: 1000,
            action_timeout_ms: 1000,
            seats: serde_json::json!([]),
            waits_for_agents: true,
            position: 1,
        },
    )
    .await
    .unwrap();
    seating::open_external_seats(&client, &table, &[(0, None)])
        .await
        .unwrap();
    let agent = NewAgent {
        name: Some("ws agent".into()),
        metadata: None,
    };
    let (agent, _) = register_agent(&client, &agent, Creator::Admin)
        .await
        .unwrap();
    let tx = client.transaction().await.unwrap();
    let seated = seating::join_table(&tx, &table, agent.id.as_str(), &agent.name, None)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    seating::consume_inbox(&mut client, &table).await.unwrap(); // the join
    (table, seated.session_token.expose().clone())
}

fn uuid_hex() -> String {
    simrunner::secrets::random_hex(16)
}

fn connect(connection: &str, token: Option<&str>) -> Event {
    Event::Connect {
        connection: connection.into(),
        token: token.map(str::to_owned),
        format: Some("agent".into()),
        skill_doc_url: "https://poker.example.com/skill.md".into(),
    }
}

fn message(connection: &str, body: &str) -> Event {
    Event::Message {
        connection: connection.into(),
        body: body.into(),
    }
}

#[tokio::test]
async fn a_connection_is_checked_remembered_forwarded_answered_and_released() {
    let db = fresh_database().await;
    let (table, token) = seated(&db).await;
    let mut client = db.pool.get().await.unwrap();

    for token in [None, Some("ses_unknown")] {
        assert_eq!(
            handle(&db.pool, connect("c0", token)).await.unwrap().status,
            401
        );
    }
    assert_eq!(
        handle(&db.pool, connect("c1", Some(&token))).await.unwrap(),
        Outcome {
            status: 200,
            reply: None
        }
    );
    let inbox = seating::consume_inbox(&mut client, &table).await.unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].kind, InboxKind::Connected);
    assert_eq!(inbox[0].payload["connection"], "c1");
    assert_eq!(inbox[0].payload["framing"], "agent");

    let action = r#"{"type":"action","action":{"turn_token":"t","kind":"check"},"expected_seq":1}"#;
    let forwarded = handle(&db.pool, message("c1", action)).await.unwrap();
    assert_eq!(forwarded.reply, None, "actions are the runner's to answer");
    let inbox = seating::consume_inbox(&mut client, &table).await.unwrap();
    assert_eq!(inbox[0].kind, InboxKind::Action);
    assert_eq!(inbox[0].payload["frame"], action);

    let pong = handle(
        &db.pool,
        message("c1", r#"{"type":"ping","payload":{"timestamp":9}}"#),
    )
    .await
    .unwrap();
    let pong: Value = serde_json::from_str(&pong.reply.unwrap()).unwrap();
    assert_eq!(
        (pong["type"].as_str(), pong["timestamp"].as_i64()),
        (Some("pong"), Some(9))
    );
    let bad = handle(&db.pool, message("c1", "{nope")).await.unwrap();
    let bad: Value = serde_json::from_str(&bad.reply.unwrap()).unwrap();
    assert_eq!(bad["code"], "VALIDATION_ERROR");
    let stranger = handle(&db.pool, message("c9", action)).await.unwrap();
    assert!(stranger.reply.unwrap().contains("SESSION_EXPIRED"));
    assert!(
        seating::consume_inbox(&mut client, &table)
            .await
            .unwrap()
            .is_empty()
    );

    handle(
        &db.pool,
        Event::Disconnect {
            connection: "c1".into(),
        },
    )
    .await
    .unwrap();
    let inbox = seating::consume_inbox(&mut client, &table).await.unwrap();
    assert_eq!(inbox[0].kind, InboxKind::Disconnected);
    assert!(
        seating::held_connection(&client, "c1")
            .await
            .unwrap()
            .is_none()
    );

    // Once the table has ended, the session is over: the handshake is refused.
    simrunner::store::recording::close_table(&client, &table)
        .await
        .unwrap();
    assert_eq!(
        handle(&db.pool, connect("c2", Some(&token)))
            .await
            .unwrap()
            .status,
        403
    );
}
