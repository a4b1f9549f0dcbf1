//! The helpdesk's pages in Spanish (see `crate::es`): each English text and its translation.

pub(crate) static CATALOG: &[(&str, &str)] = &[
    ("A new claim code", "Un nuevo código de activación"),
    (
        "A new claim code was mailed",
        "Se envió un nuevo código de activación",
    ),
    (
        "A temporary password is being set",
        "Se está fijando una contraseña temporal",
    ),
    ("Account claim", "Activación de la cuenta"),
    ("Back to this person", "Volver a esta persona"),
    ("Claim code:", "Código de activación:"),
    ("Claimed", "Activada"),
    (
        "Claimed; being written to the directory",
        "Activada; se está escribiendo en el directorio",
    ),
    ("Directory login", "Inicio de sesión en el directorio"),
    ("District email", "Correo del distrito"),
    (
        "Employee ID, username or name",
        "Número de empleado, nombre de usuario o nombre",
    ),
    ("Find a person", "Buscar a una persona"),
    (
        "For campus technicians and front-office staff in a helpdesk group: sign in with your own directory username and password.",
        "Para técnicos de escuela y personal de oficina en un grupo de soporte: inicie sesión con su propio nombre de usuario y contraseña del directorio.",
    ),
    (
        "Give the person this password. It is shown only now: it cannot be shown again.",
        "Dé esta contraseña a la persona. Solo se muestra ahora: no se puede volver a mostrar.",
    ),
    (
        "Gives up a claim stuck while being written, so the person can claim again.",
        "Anula una activación atascada mientras se escribía, para que la persona pueda activar de nuevo.",
    ),
    (
        "HR gave no personal address: give the person this code yourself. It is shown only now.",
        "Recursos Humanos no dio una dirección personal: entregue usted este código a la persona. Solo se muestra ahora.",
    ),
    ("Helpdesk sign-in", "Inicio de sesión del soporte"),
    (
        "It went to the personal address HR gave and works until {n}; the old code no longer works.",
        "Se envió a la dirección personal que dio Recursos Humanos y sirve hasta el {n}; el código anterior ya no sirve.",
    ),
    (
        "It works until {n}; the old code no longer works.",
        "Sirve hasta el {n}; el código anterior ya no sirve.",
    ),
    ("Left the district", "Dejó el distrito"),
    (
        "Lifts claimd's locks and the directory's lockout. The password stays.",
        "Quita los bloqueos de claimd y el bloqueo del directorio. La contraseña no cambia.",
    ),
    ("Locked by claimd", "Bloqueada por claimd"),
    ("Locked by the directory", "Bloqueada por el directorio"),
    ("Login enabled", "Inicio de sesión habilitado"),
    (
        "Makes a new claim code (the old one stops working): mailed to the personal address HR gave, or shown to you once to print.",
        "Crea un nuevo código de activación (el anterior deja de servir): se envía a la dirección personal que dio Recursos Humanos, o se le muestra una vez para imprimirlo.",
    ),
    (
        "Must be changed at the next sign-in",
        "Debe cambiarse al próximo inicio de sesión",
    ),
    ("Name", "Nombre"),
    ("Never", "Nunca"),
    ("No", "No"),
    (
        "No one with that employee ID is within your sites.",
        "No hay nadie con ese número de empleado en sus sitios.",
    ),
    (
        "No one within your sites matches.",
        "Nadie de sus sitios coincide.",
    ),
    (
        "No person with that employee ID",
        "No hay ninguna persona con ese número de empleado",
    ),
    ("None", "Ninguno"),
    ("None yet", "Todavía no hay"),
    ("Not claimed yet", "Todavía no activada"),
    ("Nothing yet.", "Nada todavía."),
    ("Outcome", "Resultado"),
    ("Password expires", "La contraseña vence"),
    ("Password last set", "Contraseña fijada por última vez"),
    ("Reason", "Motivo"),
    (
        "Reason (the ticket, or who asked and how you checked it was them)",
        "Motivo (el ticket, o quién lo pidió y cómo comprobó que era esa persona)",
    ),
    ("Recent history", "Historial reciente"),
    (
        "Reissue the claim code",
        "Volver a emitir el código de activación",
    ),
    ("Release the claim", "Anular la activación"),
    ("Results", "Resultados"),
    ("Search", "Buscar"),
    ("Set a temporary password", "Fijar una contraseña temporal"),
    (
        "Sets a new password, shown to you once, that the person must change at their next sign-in. Their challenge answers stay.",
        "Fija una nueva contraseña, que se le muestra una vez y que la persona debe cambiar al próximo inicio de sesión. Sus respuestas de seguridad no cambian.",
    ),
    ("Sign in", "Iniciar sesión"),
    ("Sign out", "Cerrar sesión"),
    ("Signed in as {n}", "Sesión iniciada como {n}"),
    ("Site", "Sitio"),
    ("Sites: {n}", "Sitios: {n}"),
    ("Temporary password", "Contraseña temporal"),
    ("Temporary password:", "Contraseña temporal:"),
    ("The account is unlocked", "La cuenta está desbloqueada"),
    ("The claim is released", "La activación está anulada"),
    (
        "The directory cannot be reached right now",
        "No se puede acceder al directorio en este momento",
    ),
    (
        "The directory's lockout is being lifted now; the password stays the same.",
        "Se está quitando el bloqueo del directorio; la contraseña no cambia.",
    ),
    (
        "The person can claim their account again.",
        "La persona puede activar su cuenta de nuevo.",
    ),
    (
        "The person has been sent a notice.",
        "Se envió un aviso a la persona.",
    ),
    (
        "The username or password is not correct, or this login is not a member of a helpdesk group.",
        "El nombre de usuario o la contraseña no son correctos, o este usuario no pertenece a un grupo de soporte.",
    ),
    (
        "They must choose a new password when they first sign in with it; they are mailed once it is set.",
        "Deberá elegir una nueva contraseña la primera vez que inicie sesión con ella; se le enviará un correo cuando esté fijada.",
    ),
    ("This account is privileged", "Esta cuenta es privilegiada"),
    (
        "This account is privileged or a helpdesk member's, or the directory could not say: the helpdesk cannot act on it. Ask a domain administrator.",
        "Esta cuenta es privilegiada o de un miembro del soporte, o el directorio no pudo decirlo: el soporte no puede actuar sobre ella. Consulte a un administrador del dominio.",
    ),
    (
        "This does not apply to this person now",
        "Esto no corresponde a esta persona ahora",
    ),
    ("Unlock", "Desbloquear"),
    ("Unlock the account", "Desbloquear la cuenta"),
    ("What", "Qué"),
    ("When", "Cuándo"),
    ("Who", "Quién"),
    ("Yes", "Sí"),
    ("Yes, until {n}", "Sí, hasta el {n}"),
    (
        "Your directory username",
        "Su nombre de usuario del directorio",
    ),
    ("Your password", "Su contraseña"),
    (
        "claimd never acts on an administrator's account. Ask a domain administrator.",
        "claimd nunca actúa sobre la cuenta de un administrador. Consulte a un administrador del dominio.",
    ),
    (
        "claimd's locks on this person are lifted.",
        "Se quitaron los bloqueos de claimd sobre esta persona.",
    ),
    // Why an action does not apply (core's `Inapplicable`, shown through `Lang::reason`).
    (
        "this person has not claimed an account yet",
        "esta persona todavía no ha activado una cuenta",
    ),
    (
        "this person has no pending claim to release",
        "esta persona no tiene una activación pendiente que anular",
    ),
    (
        "claim codes are off (accounts.claim_code)",
        "los códigos de activación están desactivados (accounts.claim_code)",
    ),
    (
        "this person has claimed already; a claim code is of no use to them",
        "esta persona ya activó su cuenta; un código de activación no le sirve",
    ),
    (
        "this person has left (terminated in the roster)",
        "esta persona dejó el distrito (dada de baja en la lista)",
    ),
];
