//! The HTTP example upgraded in place under load, as a hotfix is deployed on one machine:
//! a fresh binary copied over its path, `SIGHUP`, and no client notices.

#![cfg(target_os = "linux")]

use graceful_process_tests as support;

use std::thread;
use std::time::Duration;

use support::upgrade::{self, Load};
use support::{example, http};

/// How long a slow request takes: in flight at each upgrade.
const SLOW: &str = "2s";

#[test]
fn ten_upgrades_under_load_refuse_reset_and_fail_nothing() {
    upgrade::become_subreaper();
    let dir = upgrade::scratch("http");
    let app = dir.join("http_server");
    upgrade::deploy(&example("http_server"), &app);
    let (svc, addr) = support::start_server(
        app.to_str().unwrap(),
        &[
            ("HTTP_SERVER_LISTEN", "127.0.0.1:0"),
            ("HTTP_SERVER_SLOW", SLOW),
        ],
    );
    let load = Load::start(addr, 3, 3);
    let mut pids = vec![upgrade::serving_pid(addr).unwrap()];
    for round in 0..10 {
        let old = *pids.last().unwrap();
        // A request in flight at the trigger, on the old process.
        let slow = http::send_get(addr, "/slow").unwrap();
        let slow = thread::spawn(move || http::read_response(slow));
        thread::sleep(Duration::from_millis(100));
        upgrade::deploy(&example("http_server"), &app);
        upgrade::signal(old, "HUP");
        let new = upgrade::replaced(old, || upgrade::serving_pid(addr).unwrap());
        assert!(!pids.contains(&new), "round {round}: pid {new} came back");
        pids.push(new);
        let answered = slow.join().unwrap().unwrap();
        assert_eq!(answered.status, 200, "round {round}: {answered:?}");
        assert_eq!(answered.body, format!("done after {SLOW}\n"));
        assert_eq!(
            upgrade::exit_code(old, support::PATIENCE),
            Some(0),
            "round {round}: the old process {old} did not exit 0"
        );
    }
    let (answered, failures) = load.stop();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:#?}",
        failures.len()
    );
    assert!(answered > 100, "only {answered} requests answered");
    // The last generation stops as any other.
    let last = *pids.last().unwrap();
    upgrade::signal(last, "TERM");
    assert_eq!(upgrade::exit_code(last, support::PATIENCE), Some(0));
    drop(svc);
    let _ = std::fs::remove_dir_all(dir);
}
