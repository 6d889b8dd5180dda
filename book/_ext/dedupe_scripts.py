"""Drop duplicate inline <script> blocks from each page.

sphinx-thebe 0.3.1 registers its `const THEBE_JS_URL = ...` snippet once more on notebook pages,
and a second `const` declaration is a JavaScript error in the browser console. Jupyter Book 1.x
offers no switch to turn sphinx-thebe off, so the duplicate is removed here before the page is written.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        key = (getattr(js, "filename", js) or "", tuple(sorted(getattr(js, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
