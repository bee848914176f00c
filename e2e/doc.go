// Package e2e holds civico's browser journeys and accessibility checks. Its
// tests build the real binary, run `civico demo` on free ports with a data
// directory and an SMTP server of their own, and drive Debian's headless
// Chromium through the DevTools protocol (chromedp) as residents would:
//
//   - TestBrowse: home, "Servizi" in the main menu, a category, English and back;
//   - TestClarityRatingWithoutJavaScript: the clarity rating with scripts off;
//   - TestServicePageAndFinder: a service page from its category, and the
//     finder of open offices with scripts off;
//   - TestRegisterWithPassword: registration by address (a wrong one first),
//     the mail's link, names and password (a mismatch first), the personal
//     area, logout and login;
//   - TestSmartCardLogin: login with a demo smart card over TLS (a client
//     certificate in the browser's NSS database, chosen by the Chromium policy
//     AutoSelectCertificateForUrls, whose rule for its port the test adds
//     to /etc/chromium/policies/managed/civico-e2e.json and removes: it
//     needs root; runs side by side share the file), single
//     sign-on into Partecipa, and logout from either;
//   - TestProposalThresholdAndAnswer (partecipa_test.go): on a demo whose
//     proposals need 2 supports, a card holder opens Partecipa without a
//     second login, writes a proposal by keyboard and supports it; another
//     supports it, which shows the answer's deadline; the participation
//     office (the demo operator's card) finds it among the answers due and
//     publishes its status and answer, which the proposal's page shows;
//   - TestHijackByFiscalCode (trust_test.go): a stranger registers through
//     the mail with the card holder's names and cannot claim the holder's
//     fiscal code (no form has the field; one added by hand is ignored);
//     made into a claim in the database, as an old registration's, it is
//     taken away when the holder (Luca Ferrari's demo card, another
//     browser) logs in with the card and lands in their own account: their
//     name and proven fiscal code, not the stranger's address or phone;
//   - TestHijackByAddress (trust_test.go): a stranger asks to register the
//     victim's address (the mail goes to the victim, nothing is created),
//     logs in with their own card and tries to link the victim's account
//     with a guessed password, before and after the victim registers:
//     refused, the message beside the field; the victim completes the
//     registration from the mail and sees an account without any fiscal
//     code (personal area, /api/v1/me, data download), which their password
//     still opens;
//   - TestBackOfficeCreatesOfficeAndService (backoffice_test.go): the demo's
//     administrator logs in (password, authenticator enrolled from the page),
//     creates an office (a wrong postcode first: the error beside it, nothing
//     lost) with a summer timetable, a Christmas Eve morning opening and a
//     closure, and a service handled there; the office page lists the
//     service and the closure, the service page its office, the finder
//     finds them at 08:30 on an ordinary weekday but not on a summer one, on
//     Christmas Eve morning but not at noon, not on the closure day, and the
//     calendar feed has the openings and not the closure; axe-core checks
//     each back-office page on the way;
//   - TestOperatorAddedFromTheWeb (backoffice_test.go): the administrator
//     adds an operator (a wrong address and no role first), the password is
//     shown once; the operator logs in with it, enrols an authenticator, is
//     held at the password change until choosing their own (a mismatch
//     first), then reaches the back office; axe-core on every page;
//   - TestPayTwoNoticesInTheSandbox (payments_test.go): the demo card
//     holder's notices (the demo loads them): two ticked with the space bar
//     and paid in one checkout on the sandbox's page, the outcome, the
//     receipt downloaded as a PDF; with JavaScript (axe-core on each page:
//     I miei pagamenti, the sandbox, the outcome, a notice, the IMU
//     calculator) and again without it;
//   - TestTimeUseSurvey (timeuse_test.go): the card holder's time-use
//     survey: the questionnaire (a wrong age beside its field first) and
//     a weekday diary with JavaScript (the activity search, a gap told with
//     its times, then filled; axe-core on each page), then in another
//     browser without JavaScript the saved answers, a Sunday with the
//     weekday's morning copied, completed, and the answers sent;
//   - TestBookMoveAndCancelAnAppointment (booking_test.go): the demo's
//     resident books an identity card appointment from the service's
//     booking page (office, service, first free time, details, summary),
//     sees the code and its QR code, gets the mail with the code and the
//     .ics at that time, moves it (the old one cancelled, a new mail and
//     .ics) and cancels it (a mail says so); axe-core on each step;
//   - TestQueueTicketCalledOnTheDisplay (booking_test.go): the administrator
//     opens the registry office all day (an exception, so that the journey
//     runs at any hour); a walk-in takes a number online and is called to
//     a counter from the back office's console: with JavaScript the
//     waiting-room display shows the call by itself (server-sent events),
//     without it after its refresh link; the ticket's page says which
//     counter; axe-core on the ticket and the display;
//   - TestDashboardOpenData (dashboard_test.go): the dashboard's public
//     page with axe-core and without JavaScript (server-drawn charts, each
//     with its table), its CSV by year with no count from 1 to 4, and the
//     statistics office's page (the demo administrator) with the exact
//     figures and the exact CSV;
//   - TestKeyboardOnly: the home page with the Tab key alone;
//   - TestAccessibility: axe-core's WCAG 2.1 A and AA rules on every page
//     reachable from the home pages, logged out and logged in, and on those
//     no link leads to: the completion of a registration (a real mail's
//     link), dead links, the logout confirmation, an operator's enrolment of
//     an authenticator (QR code), Partecipa's logout page (its script
//     blocked), and the personal area of a card login with the form that
//     links a password account (Giulia Bianchi's card: refused, then linked).
//
// The tests are skipped unless CIVICO_E2E=1. scripts/ci/e2e.sh installs what
// they need (chromium, libnss3-tools, axe-core from npm) and runs them:
//
//	scripts/ci/e2e.sh                  # all of them
//	scripts/ci/e2e.sh -run TestBrowse  # one
//
// Settings, read from the environment:
//
//	CIVICO_E2E=1          run the tests
//	CIVICO_AXE_JS         path of axe-core's axe.min.js (TestAccessibility)
//	CIVICO_E2E_CHROMIUM   the browser (default /usr/bin/chromium)
//	CIVICO_E2E_ARTIFACTS  where a failing test leaves a screenshot, the page's
//	                      HTML, the browser's and the demo's logs and the axe
//	                      report, named after the test (default e2e/artifacts)
package e2e
