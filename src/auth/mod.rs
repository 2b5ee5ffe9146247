//! Authentication, free of HTTP: the login check, the throttle around every password and code check,
//! and two-factor authentication. (Password hashing and tokens are in `secrets`.)

pub mod login;
pub mod throttle;
pub mod two_factor;
