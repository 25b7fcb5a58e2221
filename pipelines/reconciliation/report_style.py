"""The report page's inline stylesheet and its one small script (no URLs: the page stands alone)."""

CSS = """
:root{--fin:#3b5bdb;--ops:#e8590c;--ink:#1f2328;--mute:#59636e;--line:#d0d7de;--bad:#fff4e5}
*{box-sizing:border-box}body{margin:0 auto;max-width:1280px;padding:24px;color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans Devanagari",sans-serif}
h1{font-size:24px;margin:0}h2{font-size:18px;margin:28px 0 10px}h3{font-size:15px;margin:16px 0 6px}
.sub,.note,.n{color:var(--mute)}
.cards{display:flex;gap:16px;flex-wrap:wrap;margin-top:16px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 16px;min-width:200px}
.k{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--mute)}.v{font-size:28px;font-weight:600}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);padding:5px 8px;
text-align:left;vertical-align:top}thead th{position:sticky;top:0;background:#f6f8fa}
.totals{width:auto}.totals td{text-align:right;font-variant-numeric:tabular-nums;min-width:140px}
#exception-table td:nth-child(n+8):nth-child(-n+10){text-align:right;font-variant-numeric:tabular-nums}
#exception-table td:nth-child(-n+10){white-space:nowrap}#exception-table tr.u{background:var(--bad)}
td.empty{text-align:center;color:var(--mute)}
#charts{display:grid;grid-template-columns:1fr;gap:8px}figure{margin:16px 0 0}
figcaption{font-weight:600;margin-bottom:4px}.chart{width:100%;max-width:960px;height:auto}
.axis{stroke:#8c959f}.tick,.lbl{font-size:11px;fill:var(--ink)}.end{text-anchor:end}.mid{text-anchor:middle}.off{fill:#afb8c1}
.bar{fill:#6e7781}.finance .bar,.pos .bar{fill:var(--fin)}.operations .bar,.neg .bar{fill:var(--ops)}
.k-fin{fill:var(--fin)}.k-ops{fill:var(--ops)}#filters{margin:0 0 8px}#filter{width:320px;padding:4px 8px}
@media print{#filters{display:none}thead th{position:static}body{padding:0}}
"""

# Hides rows that do not contain the typed text; the table is complete without it.
SCRIPT = """
(function(){var f=document.getElementById('filters'),q=document.getElementById('filter'),
u=document.getElementById('unexplained'),s=document.getElementById('shown'),
rows=document.querySelectorAll('#exception-table tbody tr'),texts=null,t=null;
if(!rows.length||rows[0].querySelector('td.empty'))return;f.hidden=false;
function run(){texts=texts||Array.prototype.map.call(rows,function(r){return r.textContent.toLowerCase();});
var w=q.value.trim().toLowerCase(),n=0;for(var i=0;i<rows.length;i++){
var ok=(!w||texts[i].indexOf(w)>=0)&&(!u.checked||rows[i].className==='u');rows[i].hidden=!ok;if(ok)n++;}
s.textContent=n+' of '+rows.length+' shown';}
q.addEventListener('input',function(){clearTimeout(t);t=setTimeout(run,150);});u.addEventListener('change',run);
})();
"""
