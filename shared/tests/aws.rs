//! The AWS adapters through the real AWS SDK, against a moto server the harness starts.

use simrunner::domain::{RunId, SimulationId};
use simrunner::launch::{LaunchRequest, Launcher};
use simrunner::schedule::{EventBridgeScheduler, ScheduleSpec, Scheduler};
use simrunner::testing::{moto_config, moto_ecs_launcher};

#[tokio::test]
async fn run_task_starts_one_fargate_task_per_run_and_stop_task_stops_it() {
    let (ecs_launcher, ecs) = moto_ecs_launcher("simrunner-a").await;
    let launcher = Launcher::Ecs(ecs_launcher);
    let request = LaunchRequest {
        run: RunId::generate(),
        config: SimulationId::generate(),
    };
    let task_ref = launcher.launch(&request).await.unwrap();
    let arn = task_ref
        .strip_prefix("ecs:")
        .expect("an ECS task reference")
        .to_owned();

    let described = ecs
        .describe_tasks()
        .cluster("simrunner-a")
        .tasks(&arn)
        .include(aws_sdk_ecs::types::TaskField::Tags)
        .send()
        .await
        .unwrap();
    let task = &described.tasks()[0];
    assert_eq!(
        task.launch_type(),
        Some(&aws_sdk_ecs::types::LaunchType::Fargate)
    );
    assert_eq!(task.started_by(), Some("simrunner"));
    let overrides = task.overrides().unwrap().container_overrides();
    assert_eq!(overrides[0].name(), Some("runner"));
    let env = overrides[0].environment();
    assert_eq!(env[0].name(), Some("RUN_ID"));
    assert_eq!(env[0].value(), Some(request.run.as_str()));
    let tags: Vec<(&str, &str)> = task
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect();
    assert!(
        tags.contains(&("simrunner:run", request.run.as_str())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&("simrunner:config", request.config.as_str())),
        "{tags:?}"
    );

    launcher.stop(&task_ref).await.unwrap();
    let described = ecs
        .describe_tasks()
        .cluster("simrunner-a")
        .tasks(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.tasks()[0].stopped_reason(),
        Some("stopped by simrunner")
    );
}

#[tokio::test]
async fn a_run_task_that_ecs_refuses_is_a_launch_error_naming_the_cause() {
    let (mut ecs_launcher, _) = moto_ecs_launcher("simrunner-b").await;
    ecs_launcher.task_definition = "no-such-task-definition".into();
    let error = Launcher::Ecs(ecs_launcher)
        .launch(&LaunchRequest {
            run: RunId::generate(),
            config: SimulationId::generate(),
        })
        .await
        .unwrap_err();
    assert!(error.0.starts_with("ECS RunTask failed"), "{}", error.0);
}

#[tokio::test]
async fn schedules_are_created_updated_disabled_and_deleted() {
    let config = moto_config().await;
    let client = aws_sdk_scheduler::Client::new(&config);
    client
        .create_schedule_group()
        .name("simrunner-test")
        .send()
        .await
        .unwrap();
    let eb = EventBridgeScheduler {
        client: client.clone(),
        group: "simrunner-test".into(),
        target_arn: "arn:aws:lambda:us-east-1:123456789012:function:simrunner-dispatch".into(),
        role_arn: "arn:aws:iam::123456789012:role/simrunner-scheduler".into(),
        dead_letter_arn: Some("arn:aws:sqs:us-east-1:123456789012:simrunner-dlq".into()),
    };
    let scheduler = Scheduler::EventBridge(eb.clone());
    let sim = SimulationId::generate();

    scheduler
        .sync(
            &sim,
            Some(ScheduleSpec {
                interval_minutes: 5,
                enabled: true,
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        eb.describe(&sim).await.unwrap(),
        Some(("rate(5 minutes)".into(), true))
    );
    let stored = client
        .get_schedule()
        .name(sim.as_str())
        .group_name("simrunner-test")
        .send()
        .await
        .unwrap();
    let target = stored.target().unwrap();
    assert_eq!(
        target.arn(),
        "arn:aws:lambda:us-east-1:123456789012:function:simrunner-dispatch"
    );
    assert_eq!(
        target.role_arn(),
        "arn:aws:iam::123456789012:role/simrunner-scheduler"
    );
    let input: serde_json::Value = serde_json::from_str(target.input().unwrap()).unwrap();
    assert_eq!(input["config_id"], sim.as_str());
    assert_eq!(
        target.retry_policy().unwrap().maximum_retry_attempts(),
        Some(3)
    );

    // Idempotent: the same sync again changes nothing; a paused config's schedule is disabled.
    scheduler
        .sync(
            &sim,
            Some(ScheduleSpec {
                interval_minutes: 5,
                enabled: true,
            }),
        )
        .await
        .unwrap();
    scheduler
        .sync(
            &sim,
            Some(ScheduleSpec {
                interval_minutes: 1,
                enabled: false,
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        eb.describe(&sim).await.unwrap(),
        Some(("rate(1 minute)".into(), false))
    );

    scheduler.sync(&sim, None).await.unwrap();
    assert_eq!(eb.describe(&sim).await.unwrap(), None);
    scheduler.sync(&sim, None).await.unwrap();
}
