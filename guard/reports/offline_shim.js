// Just enough of jQuery and bootstrap-table for the calls GX's Data Docs pages make,
// inlined into every page by guard/reports/offline.py so they render with no network.
(function(){
function W(nodes){this.n=nodes;}
W.prototype.each=function(f){this.n.forEach(function(e,i){f(i,e);});return this;};
W.prototype.on=function(ev,a,b){var f=b||a;this.n.forEach(function(e){e.addEventListener(ev,f);});return this;};
W.prototype.ready=function(f){if(document.readyState!=="loading"){f();}else{document.addEventListener("DOMContentLoaded",f);}return this;};
W.prototype.removeClass=function(c){this.n.forEach(function(e){e.classList.remove(c);});return this;};
W.prototype.addClass=function(c){this.n.forEach(function(e){e.classList.add(c);});return this;};
W.prototype.fadeIn=function(){this.n.forEach(function(e){e.style.display="";});return this;};
W.prototype.fadeOut=function(){this.n.forEach(function(e){e.style.display="none";});return this;};
W.prototype.parent=function(){return new W(this.n.map(function(e){return e.parentElement;}).filter(Boolean));};
W.prototype.modal=function(){return this;};
W.prototype.bootstrapTable=function(o){
  if(!o||!o.columns||!o.data){return this;}
  this.n.forEach(function(t){
    var h="<thead><tr>"+o.columns.map(function(c){return "<th>"+(c.title||c.field)+"</th>";}).join("")+"</tr></thead><tbody>";
    o.data.forEach(function(r){
      var link=r._table_row_link_path;
      h+="<tr>"+o.columns.map(function(c){var v=r[c.field];v=(v===undefined||v===null)?"":v;
        return "<td>"+(link?"<a href=\""+link+"\">"+v+"</a>":v)+"</td>";}).join("")+"</tr>";
    });
    t.innerHTML=h+"</tbody>";
  });
  return this;
};
function $(s){
  if(s===document||s===window){return new W([document]);}
  if(typeof s==="string"){return new W(Array.prototype.slice.call(document.querySelectorAll(s)));}
  return new W(s?[s]:[]);
}
window.$=window.jQuery=$;window.vegaEmbed=function(){return Promise.resolve();};
})();
