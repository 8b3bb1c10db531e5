//! provkit's provider conformance suite on aws-lc-rs: known answers, and every operation
//! against RustCrypto in both directions (a device on RustCrypto, a server on AWS-LC).

use provkit::provider::{RustCrypto, suite};
use provkit_aws_lc::AwsLc;

#[test]
fn aws_lc_passes_the_provider_suite() {
    suite::all::<AwsLc>(200);
}

#[test]
fn rustcrypto_passes_it_too() {
    suite::all::<RustCrypto>(20);
}
