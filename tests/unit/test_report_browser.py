"""The report in a real browser: headless Chromium opens it from a file:// URL, with no server.

A probe script appended to a copy of the page measures what the browser laid out (visibility, size,
rendered text) and writes it into the DOM, which `--dump-dom` hands back. CI installs Chromium
(.ci/run), which sets ML_CONNECTOR_REQUIRE_BROWSER=1 so a missing Chromium fails there. Elsewhere
(`make test` on a machine with only python3 and make) a missing Chromium skips this one test, saying so.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess

import pytest

from pipelines.reconciliation.report import write_report
from tests.unit.test_recon_report import NASTY_CUSTOMER, exception_rows, report_data

PROBE = """<script>
function seen(el){if(!el)return false;var r=el.getBoundingClientRect();
  return el.checkVisibility({checkOpacity:true,checkVisibilityCSS:true})&&r.width>0&&r.height>0;}
var totals=document.getElementById('totals'),table=document.getElementById('exception-table'),
  rows=Array.prototype.slice.call(table.querySelectorAll('tbody tr')),
  out={totals_visible:seen(totals),totals_top:totals.getBoundingClientRect().top,viewport:window.innerHeight,
  totals_text:totals.innerText,rate:document.querySelector('.match-rate').innerText,table_visible:seen(table),
  rows_visible:rows.filter(seen).length,first_row:rows[0].innerText,
  charts:Array.prototype.filter.call(document.querySelectorAll('svg.chart'),seen).length,
  filter_visible:seen(document.getElementById('filter')),
  page_width:document.documentElement.scrollWidth,window_width:window.innerWidth};
var q=document.getElementById('filter');q.value='SO-1003';q.dispatchEvent(new Event('input'));
setTimeout(function(){out.rows_after_filter=rows.filter(seen).length;
  var p=document.createElement('pre');p.id='probe';p.textContent=JSON.stringify(out);
  document.body.appendChild(p);},500);
</script>"""


def chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    advice = "`apt-get install -y chromium` (CI's .ci/run installs it), or set CHROMIUM to its path"
    if not os.environ.get("ML_CONNECTOR_REQUIRE_BROWSER"):
        pytest.skip(f"Chromium is not installed: {advice}")
    pytest.fail(f"The browser test needs Chromium: {advice}.", pytrace=False)


def test_headless_chromium_shows_the_totals_and_the_exception_table(tmp_path):
    browser = chromium()
    rows = exception_rows(40)
    rows[5]["reason"] = "a reason finance has to read in full, " * 12 + "Rs-" + "9" * 60  # long, and one long word
    files = write_report(report_data(rows), tmp_path / "report")
    probed = tmp_path / "probed.html"
    probed.write_text(files.html.read_text(encoding="utf-8").replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    command = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900",
               "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"Chromium exited {done.returncode} without the probe's result:\n{done.stderr[-2000:]}"
    seen = json.loads(html.unescape(found.group(1)))

    assert seen["totals_visible"] and 0 <= seen["totals_top"] < seen["viewport"]  # on the first screen
    for text in ("ShipStation", "TallyPrime", "₹1,234,567.50", "₹1,230,000.25", "1,250", "1,248", "1,187"):
        assert text in seen["totals_text"]
    assert seen["rate"] == "98.6%" and seen["charts"] == 3
    assert seen["table_visible"] and seen["rows_visible"] == 40
    assert seen["page_width"] <= seen["window_width"]  # the table fits at 1280 px: no horizontal scroll
    assert NASTY_CUSTOMER in seen["first_row"] and "1,234.50" in seen["first_row"]
    assert seen["filter_visible"] and seen["rows_after_filter"] == 1
