//! With the `grpc` feature: the protocol's gRPC service compiled from
//! proto/ by protox (a protobuf compiler in Rust, so no system `protoc`).

fn main() {
    #[cfg(feature = "grpc")]
    {
        let proto = "proto/grpc_predict_v2.proto";
        println!("cargo:rerun-if-changed={proto}");
        let fds = protox::compile([proto], ["proto"]).unwrap_or_else(|e| panic!("{proto}: {e}"));
        tonic_prost_build::configure()
            .compile_fds(fds)
            .unwrap_or_else(|e| panic!("{proto}: {e}"));
    }
}
