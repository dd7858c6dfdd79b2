//! The messages of the gRPC example's `demo.Jobs` service, written by hand as `prost`
//! would generate them (no `protoc` to install): the server (`grpc_server.rs`) and its
//! test, a client, use the same definitions.

/// `demo.SlowRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SlowRequest {}

/// `demo.SlowReply`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SlowReply {
    #[prost(string, tag = "1")]
    pub(crate) message: String,
    #[prost(uint32, tag = "2")]
    pub(crate) pid: u32,
}

/// `demo.TicksRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct TicksRequest {}

/// `demo.Tick`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Tick {
    #[prost(uint64, tag = "1")]
    pub(crate) n: u64,
}
