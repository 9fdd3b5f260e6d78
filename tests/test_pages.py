"""The pages (builder/gallery/pages.py): each template uses only its page's context and the
documented globals, metadata renders as text only, and each page loads the scripts of the features
it has, after what they need."""

from __future__ import annotations

import inspect
import re
from dataclasses import fields, replace
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import meta, nodes
from jinja2.defaults import DEFAULT_NAMESPACE

from builder.gallery import pages
from builder.gallery.pages import (
    CreditsContext,
    Globals,
    IndexContext,
    PictureContext,
    SlideshowContext,
    StudyContext,
    environment,
    render,
)
from builder.gallery.text import Words
from builder.records import CatalogueInfo, Gallery, Study, StudyPick, Track

from .conftest import ROOT, picture_record

STATIC = ROOT / "site_template" / "static"


def template_variables(env, name: str) -> set[str]:
    """Every variable a template reads, with those of the templates it extends or includes."""
    ast = env.parse(env.loader.get_source(env, name)[0])
    found = set(meta.find_undeclared_variables(ast)) - {m.name for m in ast.find_all(nodes.Macro)}
    for other in meta.find_referenced_templates(ast):
        assert other is not None, f"{name} names a template only known when it renders"
        found |= template_variables(env, other)
    return found


def names(cls) -> set[str]:
    return {f.name for f in fields(cls)}


@pytest.mark.parametrize("page", pages.PAGES, ids=lambda cls: cls.__name__)
def test_every_variable_a_template_uses_is_its_pages_field_or_a_global(page):
    used = template_variables(environment(), page.template)
    unknown = used - names(page) - names(Globals) - set(DEFAULT_NAMESPACE)
    assert not unknown, f"{page.template} uses {unknown}: add them to {page.__name__}"
    unused = names(page) - used
    assert not unused, f"{page.__name__} has {unused}, which {page.template} never reads"


def test_the_templates_get_no_global_but_the_documented_ones():
    assert set(environment().globals) - set(DEFAULT_NAMESPACE) == names(Globals)


@pytest.mark.parametrize(
    "cls", [Globals, pages.PageContext, *pages.PAGES], ids=lambda c: c.__name__
)
def test_every_field_of_a_context_says_what_it_is(cls):
    assert cls.__doc__
    source = inspect.getsource(cls)
    for name in cls.__annotations__:  # this class's own fields
        if name == "template":
            continue
        line = re.search(rf"^    {name}: .*$", source, re.M)
        assert line and "  # " in line.group(0), f"{cls.__name__}.{name} has no comment"


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(k for k, _ in attrs)


@given(
    title=st.text(min_size=1, max_size=60),
    artist=st.text(min_size=1, max_size=60),
    file=st.text(min_size=1, max_size=60),
)
@settings(max_examples=60, deadline=None)
def test_metadata_strings_render_as_text_only(title, artist, file):
    track = Track("1", title, artist, 0.1, 0.2, genre=artist, licence=title)
    shown = {"page": "pages/x.html", "image": "img/x.jpg", "thumb": "thumbs/x.jpg"}
    im = picture_record(file, av=(0.1, 0.2), tracks=(track,), width=10, height=10, **shown)
    g = Gallery("objects", "vote", (1, 1, 1, 1), CatalogueInfo(title, 1), (im,))
    env = environment()
    benign = Gallery(
        "objects",
        "vote",
        (1, 1, 1, 1),
        CatalogueInfo("c", 1),
        (
            picture_record(
                "f",
                av=(0.1, 0.2),
                tracks=(Track("1", "t", "a", 0.1, 0.2, "g", None, "l"),),
                width=10,
                height=10,
                **shown,
            ),
        ),
    )
    for context in (IndexContext.of, lambda gal: PictureContext.of(gal, 0, Words())):

        def tags(gal):
            p = Collect()
            p.feed(render(env, context(gal)))
            p.close()
            return p.tags, sorted(set(p.attrs))

        assert tags(g) == tags(benign)


def small_study(files: list[str]) -> Study:
    track = Track("7", "Song", "Band", 0.2, 0.3, audio="audio/7.mp3")
    picks = {"gallery": StudyPick("7", 1), "random": StudyPick("7", None)}
    return Study("g-0123456789abcdef", ("gallery", "random"), {f: picks for f in files}, (track,))


def small_gallery(study: bool = False, **options) -> Gallery:
    shown = {"width": 10, "height": 10, "image": "img/p.jpg", "thumb": "thumbs/p.jpg"}
    images = tuple(picture_record(f"p{i}.jpg", page=f"pages/p{i}.html", **shown) for i in range(2))
    if study:
        options["study"] = small_study([im.file for im in images])
    return Gallery("random", "none", (0, 0, 0, 0), CatalogueInfo("c", 1), images, **options)


def rendered_pages(gallery: Gallery, viewer: bool = True) -> dict[str, str]:
    env = environment(Words(), "Show", "MIT" if viewer else None)
    rendered = {
        "index": render(env, IndexContext.of(gallery)),
        "picture": render(env, PictureContext.of(gallery, 0, Words())),
        "slideshow": render(env, SlideshowContext.of(gallery)),
        "credits": render(env, CreditsContext.of(gallery)),
    }
    if gallery.study is not None:
        rendered["study"] = render(env, StudyContext.of(gallery))
    return rendered


def test_every_page_gives_a_picture_the_alt_text_of_the_viewers_rows():
    from builder.gallery.text import alt_text
    from builder.records import Caption

    captioned = Caption("a dog on a beach", "template", "a dog on a beach")
    gallery = small_gallery()
    first = replace(gallery.images[0], caption=captioned)
    gallery = replace(gallery, images=(first,), slideshow=(first.file,))
    alt = alt_text(gallery.images[0])
    assert alt == "a dog on a beach"  # no curator's alt: the caption, before the name
    for page, html in rendered_pages(gallery).items():
        if page != "credits":
            assert f'alt="{alt}"' in html, page


def scripts(html: str) -> list[str]:
    return [s.removeprefix("../") for s in re.findall(r'<script src="([^"]+)"></script>', html)]


# the feature each script serves, by what of the page it works on
FEATURES = {
    "static/viewer.js": 'data-viewer="on"',
    "static/search.js": 'id="search-form"',
    "static/slideshow.js": '<main id="main" class="show"',
    "static/plane.js": 'id="plane"',
    "static/picture.js": '<body class="picture-page"',
    "static/film-link.js": '<body class="index"',
    "static/kiosk.js": "data-kiosk=",
    "static/study.js": '<main id="main" class="study"',
}


def needs(script: str) -> list[str]:
    """The scripts one must follow, by the globals it reads."""
    text = (ROOT / "site_template" / script).read_text(encoding="utf-8")
    provided = {
        "window.GALLERY_MESSAGES": "static/messages.js",
        "window.Gallery": "static/shared.js",
        "G.columns(": "data/columns.js",
        "G.Music(": "static/music.js",
        "G.trackOf(": "static/music.js",
        "window.PhotoSwipe": "static/photoswipe.umd.min.js",
        "window.CATALOGUE": "catalogue.js",
        "window.GALLERY_FILM": "film.js",
        "window.GALLERY_STUDY": "data/study.js",
    }
    return sorted({need for used, need in provided.items() if used in text} - {script})


@pytest.mark.parametrize("study", [False, True])
@pytest.mark.parametrize("kiosk", [False, True])
@pytest.mark.parametrize("viewer", [True, False])
def test_each_page_loads_the_scripts_of_its_features_after_what_they_need(viewer, kiosk, study):
    loaded = {}
    for name, html in rendered_pages(small_gallery(study, kiosk=kiosk), viewer).items():
        srcs = loaded[name] = scripts(html)
        assert len(srcs) == len(set(srcs)), name
        for script, marker in FEATURES.items():
            assert (script in srcs) == (marker in html), (name, script)
        features = {"static/viewer.js", "static/slideshow.js"}
        assert ("static/music.js" in srcs) == bool(features & set(srcs)), name
        for script in srcs:
            if (ROOT / "site_template" / script).is_file():  # ours, not written by the build
                before = srcs[: srcs.index(script)]
                assert set(needs(script)) <= set(before), (name, script, needs(script))
    assert loaded["credits"] == []  # nothing on it runs
    assert ("static/kiosk.js" in loaded["index"]) == kiosk and loaded["index"][0] == (
        "static/kiosk.js" if kiosk else "static/messages.js"
    )  # the kiosk's index leaves for the slideshow before anything else runs
    every = {s for srcs in loaded.values() for s in srcs if s.startswith("static/")}
    if viewer and kiosk and study:  # every script of static/ is some page's
        assert every - {"static/photoswipe.umd.min.js", "static/messages.js"} == {
            f"static/{p.name}" for p in STATIC.glob("*.js")
        }


def test_the_index_is_paged_into_its_listings(tmp_path, monkeypatch):
    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    gallery = small_gallery()
    gallery = replace(gallery, images=(gallery.images[0], replace(gallery.images[1], quadrant=3)))
    pages.write_index_pages(tmp_path, environment(), gallery, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "index-2.html",
        "index-q1.html",
        "index-q2.html",
        "index-q3.html",
        "index-q4.html",
        "index.html",
    ]
    second = (tmp_path / "index-2.html").read_text(encoding="utf-8")
    assert 'href="pages/p1.html"' in second and 'href="pages/p0.html"' not in second
    assert 'href="index-q3.html"' in second and 'href="index-q2.html"' not in second


@pytest.mark.parametrize("kiosk", [False, True])
def test_a_study_is_linked_from_the_index_and_offered_by_a_kiosk_only_where_there_is_one(kiosk):
    without = rendered_pages(small_gallery(kiosk=kiosk))
    assert "study.html" not in without["index"] + without["slideshow"]
    assert "study.css" not in without["slideshow"]
    pages_ = rendered_pages(small_gallery(True, kiosk=kiosk))
    assert 'href="study.html" id="to-study"' in pages_["index"]
    assert ('id="study-offer"' in pages_["slideshow"]) == kiosk
    assert ('href="static/study.css"' in pages_["slideshow"]) == kiosk
    assert 'href="static/study.css"' in pages_["study"]


def test_the_study_page_shows_the_curators_text_in_place_of_its_own(tmp_path):
    from builder.pipeline.curation import intro_html

    gallery = small_gallery(True)
    own = rendered_pages(gallery)["study"]
    assert "answers stay on this device" in own and 'data-size="10"' in own
    text = "# Our study\n\nPlease <b>help</b> us."
    study = replace(gallery.study, text=text, text_html=intro_html(text), size=3)
    page = rendered_pages(replace(gallery, study=study))["study"]
    assert "<h2>Our study</h2>" in page and "&lt;b&gt;help&lt;/b&gt;" in page
    assert "answers stay on this device" not in page and 'data-size="3"' in page
