"""The roof that joins the wings for a build: `run.analyse` reads what the curator gives and every
picture through the named stages (`stages`), with the Context (`context`) handing each method its
models and the music; `executors` spread uncached pictures over processes or a Ray cluster;
`curation` reads the curator's sheet and intro; `stats` is what a build measures of itself. No wing
imports anything here."""
