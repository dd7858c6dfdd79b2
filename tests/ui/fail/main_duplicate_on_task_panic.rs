#[graceful::main(on_task_panic = "continue", on_task_panic = "shutdown")]
async fn main() {}
