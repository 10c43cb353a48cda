// The account page's HTML: plain forms and semantic tables that work without scripts; one
// same-origin script (live.ts) adds live updates and local times. One file per page under pages/.
export { STYLE, esc, flashBox, messagePage } from "./pages/layout.js";
export type { AccountView, ClientRow, RevokedRow } from "./pages/types.js";
export { loginPage, type LoginView } from "./pages/sign-in.js";
export { clientsTable, revokedTable } from "./pages/clients.js";
export { describeEvent, historyTable } from "./pages/history.js";
export { accountPage, fragment } from "./pages/account.js";
export { allowPage, revokePage, signOutOthersPage } from "./pages/confirm.js";
