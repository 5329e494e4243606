//! The demo's consent forms: on the two newest visits, an anaesthesia consent signed by the
//! owner (its PDF filed as a consent document) and one left as a draft for the tablet, so
//! `/consents/{id}/sign` shows both states. Two forms keep start-up fast (one PDF printed).

use std::sync::Arc;

use anyhow::Context;
use clowder_actors::System;
use clowder_actors::clinical::consent_forms::{Signing, TemplateFilter};
use clowder_actors::clinical::visits::VisitFilter;
use clowder_schemas::audit::Caller;
use clowder_schemas::consent_forms::{ConsentKind, CreateConsentForm, SignerRelationship};

/// A drawn-looking signature: a few dark zigzag strokes on a transparent 480 × 120 PNG.
fn signature_png() -> anyhow::Result<Vec<u8>> {
    let (w, h) = (480u32, 120u32);
    let mut pixels = vec![0u8; (w * h * 4) as usize];
    for x in 20..w - 20 {
        let y = 30 + (x * 7 % 120).abs_diff(60);
        for dy in 0..3 {
            let at = (((y + dy).min(h - 1) * w + x) * 4) as usize;
            pixels[at..at + 4].copy_from_slice(&[20, 20, 60, 255]);
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

pub async fn seed(system: &Arc<System>) -> anyhow::Result<()> {
    let caller = Caller::system();
    let filter = TemplateFilter { kind: Some(ConsentKind::Anaesthesia), include_inactive: false };
    let (templates, _) = system.consent_templates.list(&filter, None, 1, &caller).await?;
    let Some(template) = templates.first() else { return Ok(()) };
    let (visits, _) = system.visits.list_newest_first_unaudited(&VisitFilter::default(), None, 2)?;
    for (n, visit) in visits.iter().enumerate() {
        let body = CreateConsentForm {
            template_id: template.id,
            visit_id: visit.id,
            procedure: Some("Dental cleaning under general anaesthesia".into()),
            estimate_id: None,
            estimate_option: None,
        };
        let form = system.consent_forms.create(body.validate()?, &caller).await.context("a demo consent form")?;
        if n == 0 {
            let owner = system.clients.peek(form.client_id).map(|c| c.display_name()).unwrap_or_default();
            let signing =
                Signing { signer_name: owner, relationship: SignerRelationship::Owner, png: signature_png()? };
            system.consent_forms.sign(form.id, signing, &caller).await.context("signing the demo consent")?;
        }
    }
    Ok(())
}
