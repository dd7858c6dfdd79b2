#[graceful::main(upgrade = "SIGUSR3")]
async fn main() {}
