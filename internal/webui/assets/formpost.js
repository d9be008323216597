// Posts the sign-in response to the application at once (the page shows a
// Continue button for browsers without scripts).
document.getElementById("response").submit();
