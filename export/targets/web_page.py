"""`WebPageTarget`: `web/`, a static page that explains photos in a browser (--web)."""

import shutil

from export.targets.base import ExportTarget
from export.targets.tflite import TFLITE
from export.web_page import (
    WEB,
    check_web_output,
    folder_size,
    is_web_page,
    litertjs_folder,
    web_variant,
    write_web_page,
)
from siam_keras.runtime.explanation import RESIDUAL_TOLERANCE


class WebPageTarget(ExportTarget):
    """`web/`: the page, LiteRT.js, one TFLite variant with its sidecar and test vectors
    (`export.web_page`); only with --web. Written in place, atomically.

    Without --web, an earlier export's page is removed (`absent`): it runs that export's
    model, not the new one (refused without --overwrite, before any work).
    """

    name = "web"
    description = "The web page (LiteRT.js)"
    checked_by = ("holds page.json, as every page siam-export writes (is_web_page); its size "
                  "is logged; tests open it in Chromium against the Python runtimes")
    needs = ("tflite", "test_vectors")

    def __init__(self):
        self.litertjs = self.variant = None

    @classmethod
    def wanted(cls, config):
        return config.web

    def heading(self, context):
        return f"The web page ({self.variant} model, LiteRT.js)"

    def outputs(self, context):
        return (f"{WEB}/",)

    def check(self, context):
        """Refuses a missing LiteRT.js, a --web-variant not exported, and an existing web/
        (an earlier export's without --overwrite; one siam-export did not write, always)."""
        config = context.config
        self.litertjs = litertjs_folder(config.litertjs)
        self.variant = web_variant(config.web_variant, config.variants)
        check_web_output(context.out, config.overwrite, web=True)

    def write(self, context):
        write_web_page(context.out, context.path(TFLITE), self.variant, context.sidecar,
                       self.litertjs, RESIDUAL_TOLERANCE, context.config.max_pixels)

    def verify(self, context):
        super().verify(context)
        page = context.path(WEB)
        if not is_web_page(page):
            raise RuntimeError(f"{page} lacks the page.json every page siam-export writes")
        total, fetched = folder_size(page)
        context.log(f"      {page}/: {total / 1e6:.1f} MB, of which a browser downloads "
                    f"{fetched / 1e6:.1f} MB. Serve it, e.g. python -m http.server -d {page}, "
                    "and open it on a phone")

    def check_absent(self, context):
        """Refuses to remove an earlier export's page without --overwrite."""
        check_web_output(context.out, context.config.overwrite, web=False)

    def absent(self, context):
        """Removes an earlier export's page (its model is not this export's); leaves a
        web/ siam-export did not write, with a word."""
        folder = context.out / WEB
        if is_web_page(folder):
            shutil.rmtree(folder)
            context.log(f"Removed the earlier export's {folder}/ (pass --web to write this "
                        "model's)")
        elif folder.exists():
            context.log(f"Left {folder}/ as it is: siam-export did not write it")
