if (!window.__ndClicks) {
  window.__ndClicks = true;
  document.addEventListener('click', (ev) => {
    const a = ev.target && ev.target.closest ? ev.target.closest('a') : null;
    if (!a) return;
    const href = a.getAttribute('href') || '';
    if (href.includes('#nd-open/')) {
      ev.preventDefault(); ev.stopPropagation();
      trigger('click', {href: href});
      return;
    }
    const m = href.match(/#(nd-t\d+-c\d+)$/);
    if (m) {
      ev.preventDefault(); ev.stopPropagation();
      const card = document.getElementById(m[1]);
      if (card) {
        card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
        card.classList.add('nd-flash');
        setTimeout(() => card.classList.remove('nd-flash'), 1400);
      }
    }
  }, true);
}
