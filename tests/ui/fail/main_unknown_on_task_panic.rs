#[graceful::main(on_task_panic = "ignore")]
async fn main() {}
