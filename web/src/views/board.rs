//! The Today board's shell, from the base template (so it has the same navigation bar as
//! every staff page); `board.js` fills it and keeps it live over `/ws`.

use askama::Template;

use super::Nav;

/// `/board`.
#[derive(Template)]
#[template(path = "board.html")]
pub struct BoardPage {
    pub nav: Nav,
}
