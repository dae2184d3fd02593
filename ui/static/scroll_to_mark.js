() => { setTimeout(() => {
  const m = document.querySelector('#nd-viewer mark');
  if (m) m.scrollIntoView({behavior: 'smooth', block: 'center'});
}, 150); }
