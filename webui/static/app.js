// Starts GOV.UK Frontend's components (service navigation toggle, error summary focus, ...).
// Loaded as an external module so the Content-Security-Policy needs no inline script for it.
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();
