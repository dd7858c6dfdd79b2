//! A `#[cfg]` written after `#[graceful::teardown]` decides on the whole hook, its
//! registration included, as one written before it: rustc applies `#[cfg]` before any
//! attribute macro, wherever it stands. A hook compiled out is not registered.

use graceful::testing::Harness;
use graceful::TASKS_STEP;

#[graceful::teardown(order = 1)]
#[cfg(not(test))]
fn compiled_out() {
    compile_error!("this function is compiled out");
}

#[graceful::teardown(order = 2)]
#[cfg(test)]
fn compiled_in() {}

#[graceful::teardown(order = 3)]
#[cfg(test)]
#[cfg(not(test))]
async fn compiled_out_by_one_of_two() {}

#[tokio::test(start_paused = true)]
async fn only_the_hooks_whose_cfg_holds_are_registered() {
    let report = Harness::new().run(async {}).await;
    let names: Vec<&str> = report.hooks().iter().map(|h| h.name()).collect();
    assert_eq!(names, [TASKS_STEP, "teardown_cfg::compiled_in"]);
    assert_eq!(report.exit_code(), 0);
}
