//! Storage and grant-rule tests on real databases, each on both backends (a SQLite file and a
//! PostgreSQL database on a throwaway cluster). One binary, one module per area.

/// `both!(a, b)` after `fn a()`, `fn b()`: modules `a` and `b`, each with a `sqlite` and a
/// `postgres` test running the function on that backend.
macro_rules! both {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                crate::support::run(
                    crate::support::Backend::Sqlite,
                    concat!(module_path!(), "::sqlite"),
                    super::$name,
                );
            }

            #[test]
            fn postgres() {
                crate::support::run(
                    crate::support::Backend::Postgres,
                    concat!(module_path!(), "::postgres"),
                    super::$name,
                );
            }
        }
    )+};
}

mod authorize;
mod batched;
mod compiles;
mod concurrency;
mod copy;
mod device;
mod dpop;
mod dual_run;
mod grants;
mod keys;
mod logout;
mod migrations;
mod operator;
mod par;
mod persistence;
mod repos;
mod support;
