// Starts Redoc (loaded just before this file) on this server's own spec.
// It lives in a file of its own, not in an inline <script>, so that the
// page's Content-Security-Policy can refuse every inline script. Relative
// URLs keep the page working behind a path prefix.
'use strict';
Redoc.init('openapi.json', {
  expandResponses: '200,201',
  jsonSampleExpandLevel: 3,
  hideHostname: true,
  sortPropsAlphabetically: false,
  theme: {
    typography: {
      fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
      headings: { fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif' },
      code: { fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace' },
    },
  },
}, document.getElementById('redoc'));
