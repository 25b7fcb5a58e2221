(function(){var f=document.getElementById('filters'),q=document.getElementById('filter'),
u=document.getElementById('unexplained'),s=document.getElementById('shown'),
picks=Array.prototype.slice.call(document.querySelectorAll('#filters select')),
rows=document.querySelectorAll('#exception-table tbody tr'),texts=null,t=null;
if(!rows.length||rows[0].querySelector('td.empty'))return;f.hidden=false;
function run(){texts=texts||Array.prototype.map.call(rows,function(r){return r.textContent.toLowerCase();});
var w=q.value.trim().toLowerCase(),n=0;for(var i=0;i<rows.length;i++){var r=rows[i];
var ok=(!w||texts[i].indexOf(w)>=0)&&(!u.checked||r.className==='u');
for(var j=0;ok&&j<picks.length;j++){var v=picks[j].value;if(v&&r.getAttribute('data-'+picks[j].name)!==v)ok=false;}
r.hidden=!ok;if(ok)n++;}s.textContent=n+' of '+rows.length+' shown';}
q.addEventListener('input',function(){clearTimeout(t);t=setTimeout(run,150);});u.addEventListener('change',run);
picks.forEach(function(p){p.addEventListener('change',run);});
})();
