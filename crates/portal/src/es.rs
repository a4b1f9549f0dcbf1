//! The pages in Spanish: each English text the pages use, and its translation (usted, as a
//! district writes to its staff). `{n}` stands for a number or a name filled in later.

use claimd_core::Rule;

/// A field's rule in Spanish, chosen by the rule itself: a rule added or reworded in core
/// cannot reach a Spanish page in English (this match has no catch-all).
pub(crate) fn rule(rule: Rule) -> String {
    let text = match rule {
        Rule::Required => "es obligatorio",
        Rule::Invisible => {
            "no debe contener caracteres de control ni invisibles, como saltos de línea, \
             tabulaciones, espacios de ancho cero o marcas de dirección"
        }
        Rule::InvisibleInText => {
            "no debe contener caracteres de control ni invisibles, salvo saltos de línea"
        }
        Rule::AtLeastChars(n) => return format!("debe tener al menos {n} caracteres"),
        Rule::AtMostChars(n) => return format!("debe tener como máximo {n} caracteres"),
        Rule::DomainComplexity => {
            "debe contener tres de estos: mayúsculas, minúsculas, dígitos, símbolos (la regla \
             de complejidad del dominio)"
        }
        Rule::PersonalWords => {
            "no debe contener su nombre, número de empleado ni nombre de usuario"
        }
        Rule::CommonPassword => "es una de las contraseñas más usadas; elija otra",
        Rule::EasyToGuess => {
            "es demasiado fácil de adivinar (una palabra, un nombre, una fecha o un patrón del \
             teclado comunes); pruebe una frase más larga de palabras sin relación"
        }
        Rule::Breached => {
            "aparece en listas de contraseñas expuestas en filtraciones de datos, que los \
             atacantes prueban primero; elija otra"
        }
        Rule::SameAsCurrent => "debe ser distinta de la contraseña actual",
        Rule::ChangeFirst => {
            "ha caducado o debe cambiarse: cámbiela primero (Cambiar mi contraseña) y entre con \
             la nueva"
        }
        Rule::SameAsPassword => "no debe ser su contraseña",
        Rule::UsernameForm => {
            "debe tener de 1 a 20 letras, dígitos, '.', '-' o '_', y empezar con una letra o un \
             dígito"
        }
        Rule::EmployeeIdForm => {
            "debe tener exactamente seis dígitos, con ceros a la izquierda (por ejemplo 077777)"
        }
        Rule::RosterEmployeeIdForm => "debe ser un número del 1 al 999999 (de uno a seis dígitos)",
        Rule::OptionalEmployeeIdForm => "debe tener hasta seis dígitos, o dejarse vacío",
        Rule::EmailForm => "debe ser un correo electrónico como jane.doe@district.example",
        Rule::OperationIdForm => "debe ser un identificador de operación dado por el servicio",
        Rule::QuestionNotOffered => "no es una de las preguntas ofrecidas",
        Rule::AnswerCount(n) => {
            return format!(
                "se requieren exactamente {n} respuestas, cada una para una pregunta diferente"
            );
        }
        Rule::ShownAnswerCount(n) => {
            return format!(
                "se requieren exactamente {n} respuestas, una para cada pregunta mostrada"
            );
        }
        Rule::DistinctQuestions => "cada respuesta debe ser para una pregunta diferente",
        Rule::DistinctAnswers => "cada respuesta debe ser diferente",
        Rule::Unrecognized => "no es válido",
    };
    text.to_owned()
}

pub(crate) static CATALOG: &[(&str, &str)] = &[
    // Every page.
    ("Skip to the main content", "Ir al contenido principal"),
    ("Need help?", "¿Necesita ayuda?"),
    ("Forgot My Username", "Olvidé mi nombre de usuario"),
    ("Forgot My Password", "Olvidé mi contraseña"),
    ("Change My Password", "Cambiar mi contraseña"),
    (
        "Change My Challenge Questions",
        "Cambiar mis preguntas de seguridad",
    ),
    ("Technology Support Center", "Centro de Soporte Tecnológico"),
    ("Knowledge base", "Base de conocimientos"),
    ("Phone:", "Teléfono:"),
    ("Email:", "Correo electrónico:"),
    ("Back to the start", "Volver al inicio"),
    ("There is a problem", "Hay un problema"),
    (
        "This form has expired or did not come from this site. Go back, reload the page and try again.",
        "Este formulario ha caducado o no proviene de este sitio. Regrese, vuelva a cargar la página e inténtelo de nuevo.",
    ),
    (
        "This link is not one this site made.",
        "Este enlace no fue creado por este sitio.",
    ),
    (
        "The proxy in front of this site did not say who you are.",
        "El proxy delante de este sitio no indicó quién es usted.",
    ),
    // The index.
    ("Account self-service", "Autoservicio de cuentas"),
    ("{n} accounts", "Cuentas de {n}"),
    (
        "New to the district? Claim your account to get your username and choose your password.",
        "¿Es nuevo en el distrito? Reclame su cuenta para obtener su nombre de usuario y elegir su contraseña.",
    ),
    ("Claim My Account", "Reclamar mi cuenta"),
    ("Already claimed?", "¿Ya reclamó su cuenta?"),
    // Claim My Account.
    ("Step 1: Your name", "Paso 1: Su nombre"),
    (
        "As the district's Human Resources has it.",
        "Como lo tiene registrado Recursos Humanos del distrito.",
    ),
    ("Last name", "Apellido"),
    ("First name", "Nombre"),
    ("Step 2: Your employee ID", "Paso 2: Su número de empleado"),
    ("Employee ID", "Número de empleado"),
    ("Claim code", "Código para reclamar"),
    (
        "From the email or letter Human Resources sent you: 12 letters and digits, such as 7KDM-3QXA-9RFT.",
        "Del correo o la carta que le envió Recursos Humanos: 12 letras y números, como 7KDM-3QXA-9RFT.",
    ),
    ("Verification code", "Código de verificación"),
    (
        "We sent it to your personal email address, if Human Resources has one: 8 digits, for 10 minutes. Without one, leave this empty.",
        "Lo enviamos a su correo electrónico personal, si Recursos Humanos lo tiene: 8 dígitos, válido por 10 minutos. Si no lo tiene, deje este campo vacío.",
    ),
    (
        "Six digits: put 0 before a five-digit ID (077777), 00 before a four-digit one.",
        "Seis dígitos: ponga 0 delante de un número de cinco dígitos (077777) y 00 delante de uno de cuatro.",
    ),
    (
        "Step 3: Choose your password",
        "Paso 3: Elija su contraseña",
    ),
    (
        "At least {n} characters (a phrase of a few words is good); at most 128. It must not be a common password or contain your name or employee ID. Spaces and any letters are allowed.",
        "Al menos {n} caracteres (una frase de varias palabras es buena opción); como máximo 128. No debe ser una contraseña común ni contener su nombre o número de empleado. Se permiten espacios y cualquier letra.",
    ),
    (
        "At least {n} characters (a phrase of a few words is good); at most 128. It must not be a common password or contain your name or employee ID.",
        "Al menos {n} caracteres (una frase de varias palabras es buena opción); como máximo 128. No debe ser una contraseña común ni contener su nombre o número de empleado.",
    ),
    ("Password", "Contraseña"),
    ("Password again", "Repita la contraseña"),
    (
        "Step 4: Three challenge questions",
        "Paso 4: Tres preguntas de seguridad",
    ),
    (
        "If you forget your password, you will answer these to set a new one. Choose three different questions.",
        "Si olvida su contraseña, las responderá para establecer una nueva. Elija tres preguntas diferentes.",
    ),
    ("Question {n}", "Pregunta {n}"),
    ("Question 1", "Pregunta 1"),
    ("Question 2", "Pregunta 2"),
    ("Question 3", "Pregunta 3"),
    ("Choose a question", "Elija una pregunta"),
    ("Your answer", "Su respuesta"),
    ("Answer 1", "Respuesta 1"),
    ("Answer 2", "Respuesta 2"),
    ("Answer 3", "Respuesta 3"),
    (
        "The two passwords are not the same.",
        "Las dos contraseñas no coinciden.",
    ),
    (
        "We could not find your names and employee ID in the district's records. Check them against your offer letter or badge.",
        "No encontramos su nombre y número de empleado en los registros del distrito. Compárelos con su carta de oferta o su credencial.",
    ),
    (
        "If your details are right, the Technology Support Center can help; you will get email updates from the support center.",
        "Si sus datos son correctos, el Centro de Soporte Tecnológico puede ayudarle; recibirá actualizaciones por correo electrónico del centro de soporte.",
    ),
    (
        "Ask the Technology Support Center for help",
        "Pedir ayuda al Centro de Soporte Tecnológico",
    ),
    // The claim's finish page.
    ("Creating your account", "Creando su cuenta"),
    ("You Have Claimed Your Account", "Ha reclamado su cuenta"),
    (
        "Your account could not be created",
        "No se pudo crear su cuenta",
    ),
    (
        "Your account is being created in the district's directory. This page checks again every two seconds.",
        "Su cuenta se está creando en el directorio del distrito. Esta página vuelve a comprobarlo cada dos segundos.",
    ),
    (
        "Please retain your username for future use:",
        "Conserve su nombre de usuario para usarlo en el futuro:",
    ),
    (
        "You can now sign in to district computers and services with this username and the password you chose. A confirmation has been sent to your district email.",
        "Ya puede iniciar sesión en las computadoras y los servicios del distrito con este nombre de usuario y la contraseña que eligió. Se envió una confirmación a su correo electrónico del distrito.",
    ),
    (
        "Your account could not be created:",
        "No se pudo crear su cuenta:",
    ),
    (
        "You may try again, or contact the Technology Support Center below.",
        "Puede intentarlo de nuevo o comunicarse con el Centro de Soporte Tecnológico que aparece abajo.",
    ),
    // Forgot My Username.
    ("District email address", "Correo electrónico del distrito"),
    ("Email", "Correo electrónico"),
    (
        "Type your district email address. We will send your username to it.",
        "Escriba su correo electrónico del distrito. Le enviaremos allí su nombre de usuario.",
    ),
    ("Send My Username", "Enviar mi nombre de usuario"),
    (
        "If {n} is the district email of a claimed account, its username is on its way there. It may take a few minutes to arrive.",
        "Si {n} es el correo electrónico del distrito de una cuenta reclamada, su nombre de usuario va en camino. Puede tardar unos minutos en llegar.",
    ),
    // Forgot My Password.
    (
        "Type your username. You will then answer the three challenge questions you chose when you claimed your account.",
        "Escriba su nombre de usuario. Después responderá las tres preguntas de seguridad que eligió al reclamar su cuenta.",
    ),
    ("Username", "Nombre de usuario"),
    ("Username:", "Nombre de usuario:"),
    (
        "e and your employee ID, as on the page you saw when you claimed: e77777.",
        "e y su número de empleado, como en la página que vio al reclamar su cuenta: e77777.",
    ),
    ("Continue", "Continuar"),
    ("Your challenge questions", "Sus preguntas de seguridad"),
    ("Your new password", "Su nueva contraseña"),
    ("New password", "Nueva contraseña"),
    ("New password again", "Repita la nueva contraseña"),
    ("Set My New Password", "Establecer mi nueva contraseña"),
    (
        "The username or the answers are not right. Check them and try again.",
        "El nombre de usuario o las respuestas no son correctos. Revíselos e inténtelo de nuevo.",
    ),
    (
        "Setting your new password",
        "Estableciendo su nueva contraseña",
    ),
    (
        "Your Password Has Been Changed",
        "Su contraseña ha sido cambiada",
    ),
    (
        "Your password could not be changed",
        "No se pudo cambiar su contraseña",
    ),
    (
        "Your new password is being set in the district's directory. This page checks again every two seconds.",
        "Su nueva contraseña se está estableciendo en el directorio del distrito. Esta página vuelve a comprobarlo cada dos segundos.",
    ),
    (
        "Your new password works now; the old one does not. A notice has been sent to your district email.",
        "Su nueva contraseña ya funciona; la anterior ya no. Se envió un aviso a su correo electrónico del distrito.",
    ),
    (
        "Your password could not be changed:",
        "No se pudo cambiar su contraseña:",
    ),
    (
        "Try again, or contact the Technology Support Center below.",
        "Inténtelo de nuevo o comuníquese con el Centro de Soporte Tecnológico que aparece abajo.",
    ),
    (
        "The district's directory said your old password had expired or had to be changed before you could sign in. That is why it asked for a new one.",
        "El directorio del distrito indicó que su contraseña anterior había caducado o debía cambiarse antes de iniciar sesión. Por eso se le pidió una nueva.",
    ),
    // Unlock my account.
    (
        "Locked out after too many wrong passwords at a computer or on the Wi-Fi? Type your username, then answer your three challenge questions: the lock is lifted and your password stays the same.",
        "¿Quedó bloqueado tras demasiadas contraseñas incorrectas en una computadora o en la red Wi-Fi? Escriba su nombre de usuario y responda sus tres preguntas de seguridad: se quita el bloqueo y su contraseña no cambia.",
    ),
    ("Unlocking your account", "Desbloqueando su cuenta"),
    ("Your Account Is Unlocked", "Su cuenta está desbloqueada"),
    (
        "Your account could not be unlocked",
        "No se pudo desbloquear su cuenta",
    ),
    (
        "The lock is being lifted in the district's directory. This page checks again every two seconds.",
        "Se está quitando el bloqueo en el directorio del distrito. Esta página vuelve a comprobarlo cada dos segundos.",
    ),
    (
        "You can sign in again with your password, which has not changed. A notice has been sent to your district email.",
        "Ya puede iniciar sesión con su contraseña, que no ha cambiado. Se envió un aviso a su correo electrónico del distrito.",
    ),
    ("Forgot the password too?", "¿También olvidó la contraseña?"),
    (
        "Your account could not be unlocked:",
        "No se pudo desbloquear su cuenta:",
    ),
    // Change my password / questions.
    ("Who you are", "Quién es usted"),
    ("Your password now", "Su contraseña actual"),
    (
        "Three new challenge questions",
        "Tres nuevas preguntas de seguridad",
    ),
    (
        "Choose three different questions; you will answer them to set a new password if you forget yours.",
        "Elija tres preguntas diferentes; las responderá para establecer una nueva contraseña si olvida la suya.",
    ),
    ("Change My Questions", "Cambiar mis preguntas"),
    (
        "The username or the password is not right. Check them and try again.",
        "El nombre de usuario o la contraseña no son correctos. Revíselos e inténtelo de nuevo.",
    ),
    (
        "Your challenge questions and answers are changed. You will be asked the new ones the next time you use Forgot My Password. A notice has been sent to your district email.",
        "Sus preguntas y respuestas de seguridad han cambiado. Se le harán las nuevas la próxima vez que use Olvidé mi contraseña. Se envió un aviso a su correo electrónico del distrito.",
    ),
    // Work orders.
    (
        "Ask the Technology Support Center",
        "Pedir ayuda al Centro de Soporte Tecnológico",
    ),
    (
        "Tell us who you are and what happened; the support center will answer by email. Do not write your password or your answers here.",
        "Díganos quién es y qué sucedió; el centro de soporte le responderá por correo electrónico. No escriba aquí su contraseña ni sus respuestas.",
    ),
    (
        "An email address we can answer",
        "Un correo electrónico donde podamos responderle",
    ),
    (
        "Employee ID (if you know it)",
        "Número de empleado (si lo sabe)",
    ),
    ("What happened", "Qué sucedió"),
    ("Send to the Support Center", "Enviar al Centro de Soporte"),
    (
        "Your request has been sent to the Technology Support Center. Expect email updates from the support center at {n}.",
        "Su solicitud se envió al Centro de Soporte Tecnológico. Recibirá actualizaciones del centro de soporte por correo electrónico en {n}.",
    ),
    // Refusals and waits.
    (
        "This account has already been claimed",
        "Esta cuenta ya fue reclamada",
    ),
    (
        "If it was you, use Forgot My Username or Forgot My Password.",
        "Si fue usted, use Olvidé mi nombre de usuario u Olvidé mi contraseña.",
    ),
    (
        "This account is being created",
        "Esta cuenta se está creando",
    ),
    (
        "A claim of this account is being completed. Try again in a few minutes.",
        "Se está completando el reclamo de esta cuenta. Inténtelo de nuevo en unos minutos.",
    ),
    (
        "Please wait before trying again",
        "Espere antes de intentarlo de nuevo",
    ),
    ("Your account is locked", "Su cuenta está bloqueada"),
    (
        "The district's directory locked your account after too many wrong passwords, perhaps at a computer or on the Wi-Fi.",
        "El directorio del distrito bloqueó su cuenta tras demasiadas contraseñas incorrectas, quizá en una computadora o en la red Wi-Fi.",
    ),
    (
        "Unlock My Account lifts the lock with your challenge answers; your password stays the same.",
        "Desbloquear mi cuenta quita el bloqueo con sus respuestas de seguridad; su contraseña no cambia.",
    ),
    ("Unlock My Account", "Desbloquear mi cuenta"),
    (
        "There have been too many attempts, or the service is busy. Try again in {n} minute(s).",
        "Ha habido demasiados intentos, o el servicio está ocupado. Inténtelo de nuevo en {n} minuto(s).",
    ),
    ("Something went wrong", "Algo salió mal"),
    (
        "Your request was not completed. Please try again in a few minutes.",
        "Su solicitud no se completó. Inténtelo de nuevo en unos minutos.",
    ),
    // The built-in challenge questions (a district's own stay as written).
    (
        "What was the name of your first pet?",
        "¿Cómo se llamaba su primera mascota?",
    ),
    (
        "What was the name of your elementary school?",
        "¿Cómo se llamaba su escuela primaria?",
    ),
    (
        "In what city or town were you born?",
        "¿En qué ciudad o pueblo nació?",
    ),
    (
        "What was the make and model of your first car?",
        "¿Cuál era la marca y el modelo de su primer auto?",
    ),
    (
        "What is the first name of your oldest cousin?",
        "¿Cuál es el nombre de su primo o prima mayor?",
    ),
    (
        "What street did you live on as a child?",
        "¿En qué calle vivía de niño?",
    ),
    (
        "What was your childhood nickname?",
        "¿Cuál era su apodo de la infancia?",
    ),
    (
        "What was the last name of your favorite teacher?",
        "¿Cuál era el apellido de su maestro favorito?",
    ),
    (
        "In what city did your parents meet?",
        "¿En qué ciudad se conocieron sus padres?",
    ),
    (
        "What is the first name of your childhood best friend?",
        "¿Cuál es el nombre de su mejor amigo de la infancia?",
    ),
    (
        "What was the first concert you attended?",
        "¿Cuál fue el primer concierto al que asistió?",
    ),
    (
        "Where did you work at your first job?",
        "¿Dónde tuvo su primer trabajo?",
    ),
    // Why an operation ended without its change (claimd_core::reasons).
    (
        "replaced by a newer password request",
        "reemplazada por una solicitud de contraseña más reciente",
    ),
    (
        "cancelled: the employee has left",
        "cancelada: la persona ya no trabaja en el distrito",
    ),
    (
        "waiting for the directory; claimd keeps retrying",
        "esperando al directorio; claimd sigue intentándolo",
    ),
    (
        "released by the district's IT staff; please claim again",
        "liberada por el personal de TI del distrito; reclame su cuenta de nuevo",
    ),
    (
        "the directory could not be written for {n} day(s); please submit the request again",
        "no se pudo registrar el cambio en el directorio en {n} día(s); envíe la solicitud de nuevo",
    ),
    (
        "the directory could not be written for {n} hour(s); please submit the request again",
        "no se pudo registrar el cambio en el directorio en {n} hora(s); envíe la solicitud de nuevo",
    ),
    (
        "the queued password could not be read; please submit the request again",
        "no se pudo leer la contraseña en espera; envíe la solicitud de nuevo",
    ),
    (
        "the queued password is missing; please submit the request again",
        "falta la contraseña en espera; envíe la solicitud de nuevo",
    ),
    (
        "the account is not in the directory; ask the district's IT staff",
        "la cuenta no está en el directorio; consulte al personal de TI del distrito",
    ),
    (
        "the directory already has an account with this username for another employee; ask the district's IT staff",
        "el directorio ya tiene una cuenta con este nombre de usuario para otro empleado; consulte al personal de TI del distrito",
    ),
    (
        "the directory already has an account with this username and no employee number, so it is not known to be this person's; ask the district's IT staff",
        "el directorio ya tiene una cuenta con este nombre de usuario y sin número de empleado, por lo que no se sabe si es de esta persona; consulte al personal de TI del distrito",
    ),
    (
        "the directory's account for this employee has been used already, so it cannot be claimed; ask the district's IT staff",
        "la cuenta del directorio para este empleado ya se ha usado, por lo que no se puede reclamar; consulte al personal de TI del distrito",
    ),
    (
        "the directory's account for this employee has another username; ask the district's IT staff",
        "la cuenta del directorio para este empleado tiene otro nombre de usuario; consulte al personal de TI del distrito",
    ),
    (
        "the directory's account for this employee is a privileged one, which claimd never changes; ask the district's IT staff",
        "la cuenta del directorio para este empleado es una cuenta privilegiada, que claimd nunca modifica; consulte al personal de TI del distrito",
    ),
    (
        "the directory's account for this username is no longer the one that was claimed; ask the district's IT staff",
        "la cuenta del directorio para este nombre de usuario ya no es la que se reclamó; consulte al personal de TI del distrito",
    ),
    (
        "the directory has {n} accounts for this employee ID; ask the district's IT staff",
        "el directorio tiene {n} cuentas para este número de empleado; consulte al personal de TI del distrito",
    ),
    (
        "the directory already has entries with this person's name; ask the district's IT staff",
        "el directorio ya tiene entradas con el nombre de esta persona; consulte al personal de TI del distrito",
    ),
    (
        "the directory refused the password: it does not meet the directory's password policy",
        "el directorio rechazó la contraseña: no cumple la política de contraseñas del directorio",
    ),
    (
        "the directory refused the password (result {n})",
        "el directorio rechazó la contraseña (resultado {n})",
    ),
    (
        "the directory refused the account entry (result {n})",
        "el directorio rechazó la entrada de la cuenta (resultado {n})",
    ),
    (
        "the directory refused the password: it does not meet the complexity rules: use three of upper-case letters, lower-case letters, digits and symbols, and not your username or parts of your name",
        "el directorio rechazó la contraseña: no cumple las reglas de complejidad: use tres de estos tipos (mayúsculas, minúsculas, dígitos y símbolos) y no use su nombre de usuario ni partes de su nombre",
    ),
    (
        "the directory refused the password: it is shorter than the domain's minimum length",
        "el directorio rechazó la contraseña: es más corta que la longitud mínima del dominio",
    ),
    (
        "the directory refused the password: it was used before; choose one you have not used",
        "el directorio rechazó la contraseña: ya se usó antes; elija una que no haya usado",
    ),
    (
        "the directory refused the password: the password was changed too recently; try again later",
        "el directorio rechazó la contraseña: la contraseña se cambió hace muy poco; inténtelo más tarde",
    ),
    (
        "the directory refused the password: it does not meet the domain's password policy",
        "el directorio rechazó la contraseña: no cumple la política de contraseñas del dominio",
    ),
    (
        "the directory refused the change: the current password is not correct",
        "el directorio rechazó el cambio: la contraseña actual no es correcta",
    ),
    (
        "the directory refused the account: that name is already in use; ask the district's IT staff",
        "el directorio rechazó la cuenta: ese nombre ya está en uso; consulte al personal de TI del distrito",
    ),
    (
        "the directory refused the password: it was not accepted in this form",
        "el directorio rechazó la contraseña: no se aceptó en este formato",
    ),
];
