package keywords

// fccWords are the words the FCC's 2024 revocation order says always revoke
// consent. Every Matcher has them as opt-out keywords.
var fccWords = [...]string{"stop", "quit", "end", "revoke", "opt out", "cancel", "unsubscribe"}

// AlwaysOptOut returns the FCC revocation words that Compile keeps as opt-out
// keywords whatever the lists say.
func AlwaysOptOut() []string {
	return append([]string(nil), fccWords[:]...)
}

// DefaultEmoji returns the default opt-out emoji: stop sign, no entry, no
// entry sign, cross mark, bell with slash, mobile phone off, middle finger.
// Variation selectors and skin tones are ignored when matching.
func DefaultEmoji() []string {
	return []string{"🛑", "⛔", "🚫", "❌", "🔕", "📴", "🖕"}
}

// Word classes shared by the English patterns.
const (
	enTexts   = "(texts|txts|messages|msgs|sms|spam|alerts|notifications|reminders|promos|promotions|ads|text messages|text alerts)"
	enTexting = "(texting|txting|messaging|msging|sending|contacting|bothering|spamming|harassing|emailing|pinging)"
	enNot     = "(dont|do not|didnt|did not|doesnt|does not|never|cant|cannot|can not|couldnt|could not|wont|will not|wouldnt|would not|shouldnt|should not|isnt|is not|wasnt|aint|not gonna|not going to|never gonna|no need to|mustnt|must not)"
	enPre     = "[(please|pls|plz|plez|kindly|just|ok|okay|now|no|so|yes|hey|hi)]"
	enPost    = "[(please|pls|plz|now|it|already|asap|thanks|thank you|thx|ty|immediately|right now|for good|forever|permanently|me|everything|all|now please|it please|please thanks|thanks bye|bye|thank you bye)]"
	esPre     = "[(por favor|porfa|porfavor|ya|no|oye|hola)]"
	esPost    = "[(por favor|porfa|porfavor|ya|gracias|ahora|ahora mismo|inmediatamente|de una vez|todo)]"
	frPre     = "[(svp|stp|merci|s'il vous plaît|s'il te plaît|non|oui|alors|bonjour)]"
	frPost    = "[(svp|stp|merci|s'il vous plaît|s'il te plaît|maintenant|tout de suite|immédiatement|merci bien|définitivement)]"
)

// Defaults returns the default lists for English, Spanish and French. Each
// call returns fresh slices that the caller may change.
func Defaults() []List {
	return []List{
		{
			Lang: "en",
			OptOut: []string{
				"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "UNSUB", "CANCEL", "END", "QUIT", "REVOKE",
				"OPT OUT", "OPT-OUT", "OPTOUT", "REMOVE",
				// seed 001
				"DELETE", "GO AWAY", "LEAVE", "CEASE", "BLOCK", "HALT", "FUCK OFF", "FUCK YOU",
				// and how people write the last two
				"F*** OFF", "F*** YOU", "F OFF", "F YOU", "F U", "FUCK U", "F**K OFF", "F**K YOU",
				"F*CK OFF", "F*CK YOU", "FCK OFF", "FCK YOU", "FK OFF", "FK YOU", "FUK OFF", "FUK YOU",
			},
			OptIn: []string{"START", "UNSTOP", "YES"},
			Help:  []string{"HELP", "INFO"},
			Intent: []string{
				"^ " + enPre + " @optout [@optout] " + enPost + " $",
				"(stop|quit|cease|halt) " + enTexting,
				"(stop|end|quit|cease|halt|cancel|block|pause|disable|turn off|unsubscribe from|opt out of|get rid of) *2 " + enTexts,
				"(dont|do not|never|pls dont|please dont|please do not|stop) [ever] (text|txt|message|msg|sms|contact|email|spam|bother) (me|us|this number|my number|my phone|here|again|anymore|any more)",
				"(dont|do not|never) send (me|us|this number) *2 " + enTexts,
				"no more " + enTexts,
				"no more " + enTexting,
				"no " + enTexts + " (please|pls|thanks|thank you|anymore|any more|again|ever)",
				"(unsubscribe|unsub|unsuscribe|unsubcribe|unsubscibe|unsubsribe|unsusbscribe|unsubscrib|unscribe|unsubscribing)",
				"(opt out|optout|opt me out|opt us out|opting out|revoke|revoking|stopall|stop all)",
				"(withdraw|withdrawing|revoke|revoking|remove|cancel) (my|all|any) consent",
				"(remove|delete|erase) (me|us|my number|my phone number|my cell|this number|my info|my information|my details|my data|my contact|my name)",
				"take (me|us|my number|this number|my name) off",
				"take (me|us|my number|this number|my name) out of *2 (list|lists|system|database|contacts|group|groups|loop|rotation|mailing|distribution|texts)",
				"leave (me|us) (alone|be)",
				"(want|wanna|wish|like|need|trying|tried|try|way) to (stop|unsubscribe|unsub|opt out|optout|cancel|revoke|be removed|be taken off|stop receiving|stop getting|end this|quit receiving)",
				"how (do|can|to|would|could|does) [(i|we|one)] (stop|unsubscribe|unsub|opt out|optout|cancel|revoke|end|quit|turn off|get off|get out of)",
				"(cancel|end|stop|terminate|pause) (my|the|this|your|all|all my) (subscription|subscriptions)",
				"(i|we|ive|i have) [(already|allready|just|previously|have)] (unsubscribed|opted out|optedout|said stop|replied stop|texted stop|sent stop|asked to stop|asked to be removed)",
				"(told|asked) you [(guys|people|all)] to (stop|unsubscribe|remove me|take me off|cancel|leave me alone)",
				"^ [sorry] [(you have|you got|u have|u got|this is|its|youve got|you have got|you've got)] [(the|a)] (wrong|incorrect) (number|person) [(sorry|please|pls|bye|stop)] $",
				"cease and desist",
				"(cease|halt) *2 (contact|communication|communications|contacting)",
				"^ " + enPre + " (go away|piss off|get lost|bugger off|sod off|screw you|screw off|buzz off|back off|shove off|shut up|go to hell) " + enPost + " $",
				"(fuck|fuk|fck|f*ck|f**k|fk|f) (off|you|u|yourself)",
				"(lose|forget|delete|erase) my (number|contact|details)",
				"(block|blocking|blocked|report|reporting) (you|u|this number|your number|you as spam|this as spam|as spam)",
				"(this is|its|thats|this is all|all) spam",
				"(dont|do not|no longer|never) (want|wish|need) (to receive|to get|any|any more|anymore|these|your|more|the) *1 " + enTexts,
				"(never|didnt|did not|dont|do not) (consent|consented|sign up for this|signed up for this|subscribe to this|subscribed to this|agree to this|agreed to this|ask for this|asked for this|ask for these|asked for these)",
				"(you|u|yall|they|it) (wont|dont|never|keep|still|didnt) (stop|quit) " + enTexting,
				"make (it|this|them|the texts|the messages|these texts|these messages) stop",
				"put (a|an) (stop|end) to",
			},
			Negative: []string{
				enNot + " [(ever|even|just|really|yet)] @optout",
				enNot + " (want|wanna|mean|need|have|plan|intend) to @optout",
				"non stop",
				"(bus|train|subway|tram|truck|rest|pit|next|last|first|final|one|full|whistle|metro|shuttle|bathroom|quick|short|brief|the|a|another|two|three|few|one more|fuel|gas|pit) stop",
				"stop (by|over|off|sign|signs|light|lights|loss|losses|watch|motion|gap|and shop|shop|worrying|laughing|crying|smoking|drinking|eating|at nothing|on by|into)",
				"stop at (the|a|my|your|his|her|our|home|work|walmart|target|costco|starbucks)",
				"stop in (tomorrow|today|later|sometime|and|to|at|for|on|the)",
				"(at|by|until|till|to|in|near|toward|towards|before|after|from) the end",
				"end (of|up|ups|date|time|result|results|user|users|zone|game|goal|point|table|tables|stage|line|product|cap|caps|piece|credits)",
				"(dead|back|front|high|low|deep|rear|tail|west|east|north|south|far|other|my|your|our|their|loose|week|odds and) end",
				"end the (meeting|call|day|week|month|year|session|game|contract|lease|trip|class|shift|night|season|event)",
				"(cancel|cancelled|canceled|canceling|cancelling|reschedule) (the|my|our|this|that|your|a|an|his|her|their|tomorrows|todays|tonights|next|these|those) *1 (appointment|appointments|appt|appts|order|orders|reservation|reservations|booking|bookings|meeting|meetings|flight|flights|trip|trips|visit|delivery|deliveries|payment|payments|card|session|sessions|class|classes|lesson|lessons|event|events|party|dinner|lunch|tour|ride|shift|interview|plans|game|practice|check|transaction|request|pickup|consultation|call|date|installation|job|surgery|procedure|cleaning|exam)",
				"quit (my|his|her|their|the|your|a) (job|team|gym|band|club|school|class|game|work)",
				"quit (smoking|drinking|vaping|work|school|college|caffeine|sugar|gambling)",
				"(around|city|down|up|the|a|next|one|two|whole|cell|apartment|office|writers|mental|chop|starting) block",
				"block (party|of|schedule|chain|letters|capitals|print|buster|off|my calendar|the calendar|some time|time)",
				"(sick|maternity|paternity|annual|medical|parental|unpaid|on|family|bereavement|vacation) leave",
				"leave (at|for|in|on|by|from|work|home|early|late|soon|today|tonight|tomorrow|a|an|it|them|him|her|when|after|before|around|until|till|office|house|here|there|room|voicemail|note|review|comment|feedback|yet|with|town|school)",
				"(ill|will|to|gonna|must|should|can|could|might|may|we|they|he|she|i|im) leave",
				"remove (a|an|it|them|item|items|stain|stains|battery|tag|tags|card|hair|makeup|paint|rust|mold|virus|malware|app|the item|the stain|the battery|from cart|from my cart)",
				"delete (it|that|file|files|picture|pictures|pic|pics|app|post|email|emails|photo|photos|video|videos|comment|draft|the file|the photo|the picture|the app|the email|the post|the video|the comment)",
				"to a halt",
				"cease to (amaze|exist|surprise|impress|be|function)",
				"go away (for|on|to|this|next|with|together|last|until|till|soon|in|from)",
				"(itll|will|might|may|should|finally|eventually) go away",
				"(pain|itch|cough|rash|fever|headache|symptoms) (go|goes|will go) away",
			},
		},
		{
			Lang:   "es",
			OptOut: []string{"ALTO", "DETENER", "BAJA", "CANCELAR", "PARAR", "DESUSCRIBIR", "DESUSCRIBIRME"},
			OptIn:  []string{"SI"},
			Help:   []string{"AYUDA"},
			Intent: []string{
				"^ " + esPre + " @optout [@optout] " + esPost + " $",
				"no (mas|más) (mensajes|textos|sms|msj|mensajitos|notificaciones|spam|publicidad|promociones|alertas)",
				"no (me|nos) (escriban|escribas|escriba|contacten|contactes|contacte|molesten|molestes|moleste|textees|texteen|mensajeen)",
				"no (me|nos) (envien|envies|envie|manden|mandes|mande) (mas|más|mensajes|sms|textos|nada|notificaciones|publicidad)",
				"(deja|dejen|deje|dejar|dejes|dejad) de (escribirme|enviarme|mandarme|contactarme|molestarme|mensajearme|escribir|enviar|mandar|textearme)",
				"(dar|darme|darse|denme|deme|dame|darnos|doy) de baja",
				"(cancelar|cancela|cancelen|cancele|cancelo) (mi|la|las|los|el|mis|esta|estas|estos) *1 (suscripción|suscripciones|mensajes|sms|notificaciones|alertas|textos)",
				"ya no (quiero|deseo|quisiera|necesito) (recibir|mensajes|más|sus|tus|estos)",
				"no (quiero|deseo|quisiera) (recibir|más) *2 (mensajes|textos|sms|notificaciones|alertas|mensajitos)",
				"(desuscribir|desuscribirme|desuscríbanme|desuscríbame|desinscribirme|desuscripción|desuscribe|desuscríbete)",
				"(déjame|déjenme|déjeme|déjanos) en paz",
				"^ [(perdón|lo siento|disculpe|es un|este es un|tiene el|tienen el|tienes el)] (número|numero) (equivocado|incorrecto|errado|erróneo) [(perdón|gracias)] $",
				"(se equivocó|se equivocaron|te equivocaste|se equivoca) de número",
				"^ [ya] (basta|párale|paren|pare|páralo) [(ya|por favor|porfa)] $",
				"(eliminar|eliminen|elimine|borrar|borren|borre|quitar|quiten|quite|sacar|saquen|saque) mi (número|teléfono|celular|contacto|información|datos)",
				"(sácame|sáquenme|quítenme|quítame|elimínenme|elimíname|bórrenme|bórrame|sacarme|quitarme|eliminarme|borrarme) de *2 (lista|listas|base|sistema|grupo|contactos|datos|envíos)",
				"(alto|basta|stop) (a los|los|a|con los|estos|sus|a sus|a estos) *1 (mensajes|textos|sms)",
			},
			Negative: []string{
				"(no|nunca) (cancelar|detener|parar)",
				"(no|nunca) (me|nos) (den|des|de|dé|dar|da) de baja",
				"(muy|más|tan|es|está|están|son|bastante|demasiado|poco|menos|el|lo|la|ser|fue|era|más alto|más baja) (alto|baja)",
				"(por|en) [lo] alto",
				"alto (riesgo|nivel|volumen|rendimiento|costo|precio|grado|contraste|voltaje|mando|el fuego|al fuego)",
				"(clase|presión|temporada|marea|planta|calidad|tensión|temperatura|talla|nota|voz|tasa|precio|prioridad) baja",
				"baja (california|presión|calidad|temperatura|resolución|velocidad|tensión|el volumen|la música|la voz|a|al|de peso|en)",
				"(estoy|está|estar|estaba|estuve|esté|estás|están) de baja",
				"(cancelar|cancela|cancelé|cancelo|cancelen|cancele) (mi|la|el|una|un|tu|su|nuestra|mis|las|los) *1 (cita|citas|reserva|reservación|pedido|orden|vuelo|viaje|reunión|pago|tarjeta|clase|sesión|compra|entrega|visita|consulta)",
			},
		},
		{
			Lang: "fr",
			OptOut: []string{"ARRET", "ARRÊTER", "ARRÊTEZ", "ARRÊTE", "DÉSABONNER", "DÉSINSCRIRE",
				"DÉSABONNEMENT", "DÉSINSCRIPTION", "ANNULER"},
			OptIn: []string{"OUI"},
			Help:  []string{"AIDE"},
			Intent: []string{
				"^ " + frPre + " @optout [@optout] " + frPost + " $",
				"(arrêtez|arrête|arrêter|arrêtes|cessez|cesse|stoppez) (de|d') *2 (envoyer|écrire|contacter|texter|harceler|déranger|spammer|relancer)",
				"(arrêtez|arrête|arrêter|stoppez|cessez|stop) (les|vos|ces|tous les|toutes les|l'envoi de|l'envoi des) *1 (messages|sms|textos|textes|notifications|alertes|envois|pubs|publicités)",
				"(m'|me|nous) (envoyez|envoie|envoies|écrivez|écris|contactez|contacte|textez|relancez|spammez) plus",
				"^ [(non|merci|svp)] plus de (messages|sms|textos|textes|notifications) " + frPost + " $",
				"(ne|n') (veux|voulons|souhaite|souhaitons|désire|désirons) (plus|pas|aucun) [(recevoir|de|d'|vos|ces|les|des|recevoir de|recevoir vos|recevoir les|recevoir ces|recevoir des)] (messages|sms|textos|textes|notifications|recevoir)",
				"(ne plus|plus jamais) (recevoir|être contacté|être contactée|de messages|de sms)",
				"(désabonner|désinscrire|désabonnez|désinscrivez|désabonnement|désinscription|désabonné|désabonnée|désinscrit|désinscrite|désinscris)",
				"(laissez|laisse|laissez-moi|laisse-moi|fichez|foutez|fiche|fous|fichez-moi|foutez-moi|fiche-moi|fous-moi) (tranquille|la paix|en paix)",
				"(retirez|supprimez|enlevez|effacez|retire|supprime|enlève|efface|rayez) (moi|mon numéro|nous|mon nom)",
				"^ [(c'est|c'est un|vous avez|vous avez le|désolé)] [le] (mauvais|faux) numéro " + frPost + " $",
				"erreur de numéro",
				"(annuler|annulez|annule) (mon|l'|mes|les|ces|vos) *1 (abonnement|messages|sms|notifications|alertes|inscription|textos)",
				"(veux|voudrais|souhaite|souhaiterais|aimerais|voulons) (arrêter|me désabonner|me désinscrire|être retiré|être retirée|annuler)",
				"l'arrêt (des|de ces|de vos) (messages|sms|textos|envois)",
			},
			Negative: []string{
				"(n'|ne) [(m'|me|nous|t'|te|vous)] (arrête|arrêtez|arrêtes|arrêtent|arrêter|annule|annulez|annulons|désabonnez|désabonne|désinscrivez|désinscris) (pas|jamais)",
				"sans (arrêt|arrêter|cesse)",
				"arrêt (de|d') *1 (bus|autobus|tram|tramway|métro|travail|maladie|mort|jeu|service|urgence)",
				"arrêt (maladie|cardiaque|complet)",
				"(l'|un|cet|votre|mon|prochain|dernier|premier|au|à l') arrêt",
				"(été|être|était|sera|fut|est|sont|étaient) (arrêté|arrêtés|arrêtée|arrêtées)",
				"(annuler|annulez|annule|annulé) (mon|ma|le|la|un|une|votre|notre|mes|les) *1 (rendez-vous|rdv|commande|réservation|vol|voyage|réunion|paiement|carte|cours|séance|livraison|visite|consultation)",
			},
		},
	}
}

// Merge returns base with add merged into it, language by language. With
// replace false, add's entries are appended to the same language's lists
// (a language that base lacks is appended whole). With replace true, a
// language in add replaces that language of base entirely, its patterns
// included; languages add does not name are kept. Neither input is changed.
// Whatever the lists, Compile keeps the FCC words as opt-out keywords.
func Merge(base, add []List, replace bool) []List {
	out := make([]List, 0, len(base)+len(add))
	for _, l := range base {
		out = append(out, cloneList(l))
	}
	for _, a := range add {
		i := -1
		for j := range out {
			if out[j].Lang == a.Lang {
				i = j
				break
			}
		}
		switch {
		case i < 0:
			out = append(out, cloneList(a))
		case replace:
			out[i] = cloneList(a)
		default:
			o := &out[i]
			o.OptOut = append(o.OptOut, a.OptOut...)
			o.OptIn = append(o.OptIn, a.OptIn...)
			o.Help = append(o.Help, a.Help...)
			o.Intent = append(o.Intent, a.Intent...)
			o.Negative = append(o.Negative, a.Negative...)
		}
	}
	return out
}

func cloneList(l List) List {
	c := func(s []string) []string { return append([]string(nil), s...) }
	return List{Lang: l.Lang, OptOut: c(l.OptOut), OptIn: c(l.OptIn), Help: c(l.Help),
		Intent: c(l.Intent), Negative: c(l.Negative)}
}
