//! Report pieces of clustered segments, shared by the demo's behaviour
//! segments and its customer value segments: the silhouette of every k tried,
//! and users on the first two principal components coloured by segment.

use cluster::{KCandidate, Projection};
use features::{ClusterMethod, FeatureTable, KChoice, SegmentProfile};
use report::{Scatter, Section, Table, format_count, format_decimal, format_percent};

use crate::features_cmd::{Segmentation, Segmenter, segment};

/// Points drawn at most in a scatter; beyond, an even sample (the chart would
/// only grow, not tell more).
const MAX_SCATTER_POINTS: usize = 3000;

/// Fewest users the demo clusters.
const MIN_USERS_TO_CLUSTER: usize = 20;

/// Segment profiles: size, share, mean orders and spend, top tags and the
/// segment in words.
pub fn profiles_table(profiles: &[SegmentProfile]) -> Table {
    let mut table = Table::new([
        "segment",
        "users",
        "share",
        "mean orders",
        "mean net spend",
        "top tags",
        "description",
    ])
    .with_numeric_columns([1, 2, 3, 4]);
    for profile in profiles {
        let mean = |name: &str| {
            profile
                .means
                .iter()
                .find(|(feature, _)| feature == name)
                .and_then(|(_, mean)| *mean)
                .map_or("-".into(), |m| format_decimal(m, 2))
        };
        let tags: Vec<String> = profile
            .top_tags
            .iter()
            .map(|(tag, share)| format!("{tag} {}", format_percent(*share)))
            .collect();
        table = table.row([
            profile.segment.clone(),
            format_count(profile.users as f64),
            format_percent(profile.share),
            mean("orders"),
            mean("monetary"),
            tags.join(", "),
            profile.description.clone(),
        ]);
    }
    table
}

/// "k = 2: 0.412, k = 3: 0.380, …".
pub fn silhouettes_text(candidates: &[KCandidate]) -> String {
    let tried: Vec<String> = candidates
        .iter()
        .map(|c| format!("k = {}: {}", c.k, format_decimal(c.silhouette, 3)))
        .collect();
    tried.join(", ")
}

/// `what` (users, customers) on the first two principal components, coloured
/// by `groups` (indices into `names`), at most [`MAX_SCATTER_POINTS`] of them.
pub fn projection_scatter(
    what: &str,
    projection: &Projection,
    groups: &[usize],
    names: Vec<String>,
) -> Scatter {
    let stride = projection.points.len().div_ceil(MAX_SCATTER_POINTS).max(1);
    let points = projection
        .points
        .iter()
        .zip(groups)
        .step_by(stride)
        .map(|(point, &group)| (point[0], point[1], group))
        .collect();
    let sampled = if stride > 1 {
        format!("; every {stride}th of {}", format_count(projection.points.len() as f64))
    } else {
        String::new()
    };
    Scatter::new(
        format!(
            "{what} on the first two principal components ({} of the variance{sampled})",
            format_percent(
                projection.explained_variance_ratio[0] + projection.explained_variance_ratio[1]
            )
        ),
        points,
        names,
    )
}

/// The demo's K-Means segmentation of the feature table: k by silhouette, the
/// segments' sizes and descriptions, and the users on two principal components.
pub fn behaviour_segments_section(
    table: &FeatureTable,
) -> anyhow::Result<(Section, Option<features::ClusterSummary>)> {
    let mut section = Section::new("Behaviour segments (K-Means)");
    if table.users() < MIN_USERS_TO_CLUSTER {
        section.paragraph(format!(
            "{} users are too few to cluster (the demo needs {MIN_USERS_TO_CLUSTER}).",
            table.users()
        ));
        return Ok((section, None));
    }
    let segmenter = Segmenter::Cluster(ClusterMethod::KMeans {
        k: KChoice::BySilhouette(2..=6),
        restarts: 3,
        seed: 42,
    });
    let Segmentation { segments, profiles, clustering, .. } = segment(table, &segmenter)?;
    let clustering = clustering.expect("a clustering segmenter reports its clustering");
    let sizes = profiles_table(&profiles);
    let space = features::ClusterSpace::of(table)?;
    let projection = cluster::pca_2d(&space.standardized()?)?;
    let names: Vec<String> = profiles.iter().map(|p| p.segment.clone()).collect();
    let groups: Vec<usize> = segments
        .iter()
        .map(|segment| names.iter().position(|name| name == segment).unwrap_or(names.len()))
        .collect();
    section
        .paragraph(format!(
            "`smartfunnel segment --method kmeans` clusters users on {} behavioural features of \
             the feature table (visits, depth of visits, orders, spend, basket, recency, tenure, \
             cart abandonment, search, category breadth, price level, night, weekend and mobile \
             shares, and the category shares), counts and money as ln(1 + x), every column \
             standardised. K-Means++ with 3 restarts; k = {} has the best silhouette of 2 to 6 \
             ({}). Each segment is described by the features on which its centre lies farthest \
             from the average user (docs/segments.md).",
            clustering.features.len(),
            clustering.clusters,
            silhouettes_text(&clustering.candidates)
        ))
        .table(sizes)
        .scatter(projection_scatter("Users", &projection, &groups, names));
    Ok((section, Some(clustering)))
}
